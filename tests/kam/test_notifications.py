"""In-app notifications: the header count, the list, opening and marking read."""

from django.urls import reverse

from kam.models import Notification


def test_the_header_counts_unread_notifications_and_opening_one_reads_it(client, cast) -> None:
    mine = Notification.objects.create(
        user=cast.kam, message="Tier changed: 2 accounts", url="/accounts/"
    )
    Notification.objects.create(user=cast.leadership, message="Not for the KAM")
    cast.kam.language = "en"
    cast.kam.save()
    client.force_login(cast.kam)

    page = client.get(reverse("kam:notification-list"))
    opened = client.post(reverse("kam:notification-open", args=[mine.pk]))
    after = client.get(reverse("kam:notification-list"))

    assert "Tier changed: 2 accounts" in page.content.decode()
    assert "Not for the KAM" not in page.content.decode()
    assert '1<span class="visually-hidden"> unread</span>' in page.content.decode()
    assert opened["Location"] == "/accounts/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'visually-hidden"> unread' not in after.content.decode()


def test_mark_all_read_touches_only_the_users_own(client, cast) -> None:
    Notification.objects.create(user=cast.kam, message="One")
    other = Notification.objects.create(user=cast.leadership, message="Two")
    client.force_login(cast.kam)

    client.post(reverse("kam:notification-read-all"))

    assert not Notification.objects.filter(user=cast.kam, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None
