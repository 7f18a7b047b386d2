"""Account pages under /accounts/ besides sign-in: invitation links and password reset by email.

Password reset is Django's own views (tokens, one use, PASSWORD_RESET_TIMEOUT) with Beacon's templates;
the email goes through Django's mail settings and its link starts with PUBLIC_URL, like every other link
Beacon sends (never the request's Host header).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.pages import invite
from accounts.views import BeaconPasswordResetView

urlpatterns = [
    path("invite/<int:invitation>/<str:token>/", invite.invitation_page, name="invitation"),
    path(
        "password/reset/",
        BeaconPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
