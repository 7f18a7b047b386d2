from django.urls import path

from portal.pages import bands, views

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.overview, name="org-overview"),
    path("o/<slug:org>/settings/", views.settings_index, name="settings"),
    # JSON for the charts' script: the bands of settings.CHART_BANDS in a time window.
    path("o/<slug:org>/chart-bands", bands.chart_bands_view, name="chart-bands"),
]
