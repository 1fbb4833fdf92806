from django.apps import AppConfig


class SupportCenterConfig(AppConfig):
    name = "supportcenter"
    verbose_name = "Support Center"

    def ready(self) -> None:
        from supportcenter import schema  # noqa: F401  (registers the OpenAPI extensions)
