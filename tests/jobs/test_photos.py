"""Photos: stored without metadata, a thumbnail made once, served only to who may see them, portfolios, the storage switch."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from PIL import Image
from storages.backends.s3 import S3Storage

from jobs import services
from jobs.models import JobPhoto, PortfolioPhoto
from marketplace import settings as settings_module
from marketplace.errors import ServiceError
from tests.factories import StaffFactory, make_pro, make_user, offer, post_job, trade

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112
ROTATED_90 = 6  # "rotate 90° clockwise to show": a phone held upright


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    trade()
    return tmp_path


def phone_jpeg(size: tuple[int, int] = (800, 600)) -> bytes:
    """A JPEG as a phone writes it: the home's GPS position, the camera, and an orientation tag."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[ORIENTATION] = ROTATED_90
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 32.0, 12.5), 3: "W", 4: (0.0, 6.0, 3.2)})
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(buffer, "JPEG", exif=exif, comment=b"taken at 12 Acacia Avenue")
    return buffer.getvalue()


def stored(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def job_with_photo(customer, content: bytes | None = None):
    job = post_job(customer, photos=[SimpleUploadedFile("IMG_2041 at home.jpg", content or phone_jpeg(), content_type="image/jpeg")])
    return job, job.photos.get()


# --- stored without metadata, with a thumbnail ----------------------------------------------


def test_an_uploaded_photo_is_stored_upright_without_exif_and_with_a_thumbnail(customer, media) -> None:
    original = Image.open(io.BytesIO(phone_jpeg()))
    assert original.getexif().get_ifd(GPS_IFD)  # the test's photo really carries a position

    _, photo = job_with_photo(customer)

    image = stored(photo.image.name)
    assert image.format == "JPEG" and image.size == (600, 800)  # turned upright, as the phone meant it
    assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
    assert b"Acacia" not in (media / photo.image.name).read_bytes() and b"PhoneMaker" not in (media / photo.image.name).read_bytes()
    assert "IMG_2041" not in photo.image.name  # the customer's file name is not kept either
    thumb = stored(photo.thumbnail.name)
    assert thumb.format == "WEBP" and thumb.size == (400, 533) and not thumb.getexif()
    assert sorted(p.name for p in media.rglob("*") if p.is_file()) == sorted(
        Path(name).name for name in (photo.image.name, photo.thumbnail.name)
    )


def test_a_small_photo_keeps_its_size_and_a_png_stays_a_png(customer) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (120, 90), (10, 200, 10, 128)).save(buffer, "PNG")
    _, photo = job_with_photo(customer, buffer.getvalue())
    assert (stored(photo.image.name).format, stored(photo.image.name).size) == ("PNG", (120, 90))
    assert stored(photo.thumbnail.name).size == (120, 90)  # never enlarged


def test_old_photos_are_cleaned_once_and_photos_with_a_thumbnail_are_left_alone(customer, media) -> None:
    job, fresh = job_with_photo(customer)
    old_name = default_storage.save(f"jobs/{job.pk}/IMG_0001.jpg", ContentFile(phone_jpeg()))
    legacy = JobPhoto.objects.create(job=job, image=old_name)  # as uploaded before this change: EXIF, no thumbnail

    call_command("clean_photos", stdout=io.StringIO())

    legacy.refresh_from_db()
    assert legacy.thumbnail and not stored(legacy.image.name).getexif() and stored(legacy.image.name).size == (600, 800)
    assert not default_storage.exists(old_name)
    assert JobPhoto.objects.get(pk=fresh.pk).thumbnail.name == fresh.thumbnail.name
    files = sorted(p for p in media.rglob("*") if p.is_file())

    out = io.StringIO()
    call_command("clean_photos", stdout=out)  # nothing left to do: nothing is made twice
    assert "0 photo(s) cleaned" in out.getvalue()
    assert sorted(p for p in media.rglob("*") if p.is_file()) == files
    legacy.refresh_from_db()
    assert services.job_photo_clean(photo=legacy) is False


def test_a_deleted_jobs_photo_files_are_deleted_after_the_commit(customer, media, django_capture_on_commit_callbacks) -> None:
    job, photo = job_with_photo(customer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job.delete()
    assert default_storage.exists(photo.image.name)  # not before the commit: a rollback must not lose a recorded photo
    for callback in callbacks:
        callback()
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_a_file_pillow_cannot_decode_past_verify_is_refused_and_leaves_nothing(customer, media) -> None:
    truncated = phone_jpeg()[:-400]
    with pytest.raises(ServiceError) as refused:
        job_with_photo(customer, truncated)
    assert refused.value.code == "bad_photo"
    assert not [p for p in media.rglob("*") if p.is_file()] and not JobPhoto.objects.exists()


# --- who sees a job's photos ------------------------------------------------------------------


def viewer(who: str, job) -> Client:
    client = Client()
    if who == "customer":
        client.force_login(job.customer)
    elif who == "awarded pro":
        winner = make_pro("winner")
        job.tradesperson = winner
        job.save(update_fields=["tradesperson"])
        client.force_login(winner)
    elif who == "pro with a lead":
        lead_pro = make_pro("leadpro")
        offer(job, lead_pro)
        client.force_login(lead_pro)
    elif who == "staff":
        client.force_login(StaffFactory.create())
    elif who == "unrelated pro":
        client.force_login(make_pro("stranger"))
    elif who == "another customer":
        client.force_login(make_user("nosy"))
    return client


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("customer", True),
        ("awarded pro", True),
        ("pro with a lead", True),
        ("staff", True),
        ("unrelated pro", False),
        ("another customer", False),
        ("anonymous", False),
    ],
)
def test_a_job_photo_is_served_only_to_who_may_see_the_job(customer, who, sees) -> None:
    job, photo = job_with_photo(customer)
    client = viewer(who, job)
    full, thumb = client.get(f"/photos/{photo.pk}/"), client.get(f"/photos/{photo.pk}/thumb/")
    if not sees:
        assert (full.status_code, thumb.status_code) == (404, 404)
        return
    assert (full.status_code, full["Content-Type"]) == (200, "image/jpeg")
    assert (thumb.status_code, thumb["Content-Type"]) == (200, "image/webp")
    with default_storage.open(photo.image.name, "rb") as handle:
        assert full.content == handle.read()
    assert "private" in full["Cache-Control"] and "public" not in full["Cache-Control"]


def test_photo_urls_in_the_api_and_events_are_the_checked_views_never_media(customer) -> None:
    job, photo = job_with_photo(customer)
    client = Client()
    client.force_login(customer)
    [shown] = client.get(f"/api/jobs/{job.pk}/").json()["photos"]
    assert shown["url"] == f"http://testserver/photos/{photo.pk}/"
    assert shown["thumbnail_url"] == f"http://testserver/photos/{photo.pk}/thumb/"
    assert services.job_snapshot(job)["photo_urls"] == [f"/photos/{photo.pk}/"]
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'src="/photos/{photo.pk}/thumb/"' in page and f'href="/photos/{photo.pk}/"' in page and "/media/" not in page
    assert client.get(f"/media/{photo.image.name}").status_code == 404


def test_with_a_bucket_the_view_redirects_to_a_short_lived_signed_url(customer, settings) -> None:
    _, photo = job_with_photo(customer)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "photos",
                "endpoint_url": "https://objects.example.com",
                "region_name": "eu-west-2",
                "access_key": "test-key",
                "secret_key": "test-secret",
                "querystring_expire": 300,
                "default_acl": "private",
            },
        },
    }
    client = Client()
    client.force_login(customer)
    response = client.get(f"/photos/{photo.pk}/thumb/")  # signing is local: no request reaches the bucket
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
    target = urlsplit(response["Location"])
    assert (target.netloc, target.path) == ("objects.example.com", f"/photos/{photo.thumbnail.name}")
    assert parse_qs(target.query)["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in parse_qs(target.query)
    assert Client().get(f"/photos/{photo.pk}/thumb/").status_code == 404  # the check still comes first


# --- the storage setting ----------------------------------------------------------------------


def test_storage_is_a_folder_by_default_and_a_private_bucket_when_configured(monkeypatch) -> None:
    for name in ("MEDIA_S3_BUCKET", "MEDIA_S3_ENDPOINT_URL", "MEDIA_S3_REGION", "MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert settings_module.media_storage() == {"BACKEND": "django.core.files.storage.FileSystemStorage"}

    monkeypatch.setenv("MEDIA_S3_BUCKET", "tradelink-photos")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", "https://minio.internal:9000")
    monkeypatch.setenv("MEDIA_S3_ACCESS_KEY_ID", "AKIA-TEST")
    monkeypatch.setenv("MEDIA_S3_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("MEDIA_S3_URL_EXPIRE_S", "120")
    config = settings_module.media_storage()
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"] == {
        "bucket_name": "tradelink-photos",
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": 120,
        "file_overwrite": False,
        "location": "",
        "signature_version": "s3v4",
        "endpoint_url": "https://minio.internal:9000",
        "access_key": "AKIA-TEST",
        "secret_key": "secret",
    }
    storage = S3Storage(**config["OPTIONS"])
    signed = parse_qs(urlsplit(storage.url("jobs/c1/abc.jpg")).query)
    assert signed["X-Amz-Expires"] == ["120"] and "X-Amz-Signature" in signed


# --- portfolios -------------------------------------------------------------------------------


def test_a_pro_adds_a_portfolio_photo_it_shows_publicly_and_they_remove_it(media) -> None:
    pro_user = make_pro("bob", business_name="Bob's Plumbing")
    client = Client()
    client.force_login(pro_user)
    empty = client.post("/profile/portfolio/", {"caption": "No file"}, follow=True)
    assert "Choose a photo to upload first." in empty.content.decode() and not PortfolioPhoto.objects.exists()
    upload = SimpleUploadedFile("bathroom.jpg", phone_jpeg(), content_type="image/jpeg")
    response = client.post("/profile/portfolio/", {"photo": upload, "caption": "New bathroom, Highbury"})
    assert response.status_code == 302
    photo = PortfolioPhoto.objects.get()
    assert not stored(photo.image.name).getexif() and stored(photo.thumbnail.name).width == 400

    public = Client()
    page = public.get(f"/pros/{pro_user.pk}/").content.decode()
    assert f'src="/portfolio/{photo.pk}/thumb/"' in page and "New bathroom, Highbury" in page
    served = public.get(f"/portfolio/{photo.pk}/")
    assert served.status_code == 200 and "public" in served["Cache-Control"]

    other = Client()
    other.force_login(make_pro("mallory"))
    other.post(f"/profile/portfolio/{photo.pk}/delete/")
    assert PortfolioPhoto.objects.filter(pk=photo.pk).exists()  # not theirs to remove

    client.post(f"/profile/portfolio/{photo.pk}/delete/")
    assert not PortfolioPhoto.objects.exists() and not [p for p in media.rglob("*") if p.is_file()]
    assert public.get(f"/portfolio/{photo.pk}/").status_code == 404


def test_a_full_portfolio_refuses_another_photo(settings) -> None:
    settings.JOBS = {**settings.JOBS, "MAX_PORTFOLIO_PHOTOS": 1}
    pro_user = make_pro("bob")
    services.portfolio_photo_add(user=pro_user, photo=SimpleUploadedFile("a.jpg", phone_jpeg()))
    with pytest.raises(ServiceError) as refused:
        services.portfolio_photo_add(user=pro_user, photo=SimpleUploadedFile("b.jpg", phone_jpeg()))
    assert refused.value.code == "portfolio_full" and PortfolioPhoto.objects.count() == 1
