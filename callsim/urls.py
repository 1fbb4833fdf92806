from __future__ import annotations

from django.urls import path

from callsim import views

app_name = "callsim"

urlpatterns = [
    path("talk/simulator/", views.page, name="page"),
    path("talk/simulator/dial/", views.dial, name="dial"),
    path("talk/simulator/my-status/", views.my_status, name="my_status"),
    path("talk/simulator/<int:call_id>.json", views.state, name="state"),
    path("talk/simulator/<int:call_id>/act/", views.act, name="act"),
]
