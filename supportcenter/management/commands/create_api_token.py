from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from supportcenter import services
from supportcenter.errors import ServiceError
from supportcenter.models import Account, User


class Command(BaseCommand):
    help = "Create an API token for a member of an account and print it (shown once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", required=True, help="the account's subdomain")
        parser.add_argument("--email", required=True, help="the member who owns the token")
        parser.add_argument("--description", default="Created from the command line")

    def handle(self, *args, account: str, email: str, description: str, **options) -> None:
        tenant = Account.objects.filter(subdomain=account.lower()).first()
        if tenant is None:
            raise CommandError(f"No account with subdomain {account!r}.")
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        with scope(account=tenant):
            try:
                _token, raw = services.api_token_create(
                    account=tenant, user=user, description=description, actor=user
                )
            except ServiceError as error:
                raise CommandError(error.message) from None
        self.stdout.write(raw)
