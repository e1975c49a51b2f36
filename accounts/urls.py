"""URLs of sign-in pages (password, second factor, reset) and the home page."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("accounts/2fa/verify/", views.otp_verify, name="otp_verify"),
    path("accounts/2fa/enrol/", views.otp_enrol, name="otp_enrol"),
    path("accounts/securite/", views.security, name="security"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/password-reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("", views.home, name="home"),
]
