from django.apps import AppConfig


class TalkConfig(AppConfig):
    name = "talk"

    def ready(self) -> None:
        from talk import signals  # noqa: F401  (connects the receivers)
        from talk.console import signals as console_signals  # noqa: F401
