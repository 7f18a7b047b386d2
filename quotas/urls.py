from django.urls import path

from quotas import apis

urlpatterns = [
    path("services/", apis.ServiceListApi.as_view(), name="service-list"),
    path("services/<str:name>/bandwidth", apis.BandwidthApi.as_view(), name="service-bandwidth"),
    path("quotas/", apis.QuotaListApi.as_view(), name="quota-list"),
]
