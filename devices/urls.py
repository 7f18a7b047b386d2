from django.urls import path

from devices import apis

urlpatterns = [
    path("devices/", apis.DeviceListApi.as_view(), name="device-list"),
]
