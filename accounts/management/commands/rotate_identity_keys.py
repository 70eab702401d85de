"""Re-encrypt every stored identity number with the current key (key rotation).

Rotation of FIELD_ENCRYPTION_KEY: put the new key first and keep the old one after it
(``FIELD_ENCRYPTION_KEY=new,old``), deploy, run this command, then remove the old key.
Rotation of IDENTITY_HASH_KEY: set the new one and the old one as IDENTITY_HASH_KEY_PREVIOUS
(lookups accept both meanwhile), deploy, run this command, then unset the previous key.

Rows are updated in batches, each in its own transaction; the command can be rerun safely.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import identity
from accounts.models import User


class Command(BaseCommand):
    help = (
        "Re-encrypt every identity number with the first FIELD_ENCRYPTION_KEY and recompute "
        "its lookup hash with IDENTITY_HASH_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        ids = list(
            User.objects.exclude(identity_encrypted="").order_by("pk").values_list("pk", flat=True)
        )
        updated = 0
        unreadable: list[int] = []
        for start in range(0, len(ids), batch_size):
            with transaction.atomic():
                batch = User.objects.select_for_update().filter(
                    pk__in=ids[start : start + batch_size]
                )
                for user in batch.only("pk", "identity_encrypted", "identity_hash"):
                    try:
                        number = identity.decrypt_identity(user.identity_encrypted)
                        token = identity.reencrypt_identity(user.identity_encrypted)
                    except InvalidToken:
                        unreadable.append(user.pk)
                        continue
                    lookup = identity.identity_lookup_hash(number)
                    User.objects.filter(pk=user.pk).update(
                        identity_encrypted=token, identity_hash=lookup
                    )
                    updated += 1
        self.stdout.write(f"identity numbers re-encrypted: {updated}")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} identity numbers could not be decrypted with any key of "
                f"FIELD_ENCRYPTION_KEY (user ids {', '.join(map(str, unreadable[:20]))}"
                f"{'…' if len(unreadable) > 20 else ''}); they were left unchanged. Add the key "
                "they were encrypted with (after the current one) and run again."
            )
