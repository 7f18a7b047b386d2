from django.urls import path

from devices import apis

urlpatterns = [
    path("devices/", apis.DeviceListApi.as_view(), name="device-list"),
    # <str:>, not <slug:>: a malformed slug reaches DRF and is a JSON 404, not Django's HTML page.
    path("devices/<str:slug>", apis.DeviceDetailApi.as_view(), name="device-detail"),
    path("whoami", apis.WhoamiApi.as_view(), name="whoami"),
]
