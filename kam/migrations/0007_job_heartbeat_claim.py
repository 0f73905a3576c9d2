from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kam", "0006_job_kinds_payments"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last sign of life"),
        ),
        migrations.AddField(
            model_name="job",
            name="claim",
            field=models.CharField(blank=True, editable=False, max_length=32, verbose_name="claim"),
        ),
    ]
