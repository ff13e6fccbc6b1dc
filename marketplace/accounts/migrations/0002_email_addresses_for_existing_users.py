"""Give every existing account with an email an allauth EmailAddress row, so sign-in by email, password
reset and change of email work for them.  Unverified (the pages ask them to confirm it), except addresses
at example.com (the demo's: a reserved domain no mail reaches, so no link could ever be followed)."""

from django.db import migrations


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    have = set(EmailAddress.objects.values_list("user_id", flat=True))
    rows = [
        EmailAddress(user_id=pk, email=email, primary=True, verified=email.lower().endswith("@example.com"))
        for pk, email in User.objects.exclude(email="").values_list("pk", "email").iterator()
        if pk not in have
    ]
    # Two demo accounts may share an address: only the first keeps it verified (one verified owner per address).
    seen: set[str] = set()
    for row in rows:
        if row.verified and row.email.lower() in seen:
            row.verified = False
        seen.add(row.email.lower())
    EmailAddress.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
