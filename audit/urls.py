"""URLs of the DPO's review pages."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("controle/", views.console, name="console"),
    path("controle/verifier/", views.verify_now, name="verify"),
    path("controle/traces/<uuid:event_id>/", views.review, name="review"),
    path("controle/export/<str:fmt>/", views.export, name="export"),
]
