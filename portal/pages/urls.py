from django.urls import path

from portal.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.overview, name="org-overview"),
]
