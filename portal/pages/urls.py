from django.urls import path

from portal.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.overview, name="org-overview"),
    path("o/<slug:org>/settings/", views.settings_index, name="settings"),
]
