from django.apps import AppConfig


class CallsimConfig(AppConfig):
    name = "callsim"
    verbose_name = "Call simulator"
