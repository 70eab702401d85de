"""Voice comments (R-6, R-12): recorded in the browser or chosen as an audio file, sent by staff
(internal or external) and by the beneficiary through the pages, played back inline and
downloaded through the permission-checked views. The server checks the content is audio and
enforces the length and size limits; internal voice comments never reach the beneficiary."""

import io
import math
import struct
import wave

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from core.files.storage import reset_private_storage
from notifications.models import Notification
from requests_app.constants import Visibility
from requests_app.models import Attachment, Comment, Request, TimelineEvent
from requests_app.public.models import DocumentIndex
from tenants.services import department_save
from tenants.staff.models import Membership
from tests.factories import PNG_BYTES, make_beneficiary, make_employee, make_request, make_type
from tests.jobs import run_pending_jobs

VOICE_REFUSED = "The voice message must be an audio recording."
TOO_BIG = "The voice message is too big."


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path / "private")
    reset_private_storage()
    yield
    reset_private_storage()


def ar(text: str, **params) -> str:
    with translation.override("ar"):
        message = gettext(text)
    return message % params if params else message


# --- real (small) audio files -----------------------------------------------------------------


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV of a 440 Hz tone."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * n / rate)))
            for n in range(int(seconds * rate))
        )
        out.writeframes(frames)
    return buffer.getvalue()


def _ebml(element_id: bytes, payload: bytes) -> bytes:
    size = len(payload)
    assert size < 2**56 - 1
    return element_id + (0x01 << 56 | size).to_bytes(8, "big") + payload


def webm_bytes() -> bytes:
    """The head of a WebM file as MediaRecorder writes it: the EBML header (DocType "webm")
    and a Segment with its Info (timecode scale, muxing/writing app) and an Opus track."""
    header = _ebml(
        b"\x1a\x45\xdf\xa3",
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        b"\x42\xf7\x81\x01"  # EBMLReadVersion 1
        b"\x42\xf2\x81\x04"  # EBMLMaxIDLength 4
        b"\x42\xf3\x81\x08"  # EBMLMaxSizeLength 8
        b"\x42\x82\x84webm"  # DocType webm
        b"\x42\x87\x81\x04"  # DocTypeVersion 4
        b"\x42\x85\x81\x02",  # DocTypeReadVersion 2
    )
    info = _ebml(
        b"\x15\x49\xa9\x66",
        b"\x2a\xd7\xb1\x83\x0f\x42\x40"  # TimecodeScale 1 000 000
        b"\x4d\x80\x86Chrome"  # MuxingApp
        b"\x57\x41\x86Chrome",  # WritingApp
    )
    opus_head = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
    codec_private = b"\x63\xa2" + bytes([0x80 | len(opus_head)]) + opus_head
    track = _ebml(
        b"\xae",
        b"\xd7\x81\x01"  # TrackNumber 1
        b"\x83\x81\x02"  # TrackType audio
        b"\x86\x86A_OPUS" + codec_private,  # CodecID
    )
    tracks = _ebml(b"\x16\x54\xae\x6b", track)
    return header + _ebml(b"\x18\x53\x80\x67", info + tracks)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_bytes() -> bytes:
    """The first page of an Ogg Opus stream (OpusHead), with a correct page checksum."""
    packet = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
    page = (
        b"OggS\x00\x02"  # capture pattern, version 0, beginning of stream
        + (0).to_bytes(8, "little")  # granule position
        + (0x4D55414D).to_bytes(4, "little")  # serial number
        + (0).to_bytes(4, "little")  # page sequence
        + b"\x00\x00\x00\x00"  # checksum, filled below
        + bytes([1, len(packet)])
        + packet
    )
    crc = _ogg_crc(page)
    return page[:22] + crc.to_bytes(4, "little") + page[26:]


ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200

AUDIO_SAMPLES = {
    "wav": ("voice.wav", wav_bytes, "audio/wav"),
    "webm": ("voice-1700000000000.webm", webm_bytes, "video/webm"),
    "ogg": ("voice.ogg", ogg_bytes, "audio/ogg"),
}


def audio_upload(kind: str = "wav", name: str | None = None, claimed: str | None = None):
    default_name, build, content_type = AUDIO_SAMPLES[kind]
    return SimpleUploadedFile(name or default_name, build(), content_type=claimed or content_type)


# --- the setting ------------------------------------------------------------------------------


@pytest.fixture
def team(agency_a):
    """Agency A: a department whose only employee is ``assignee``; one new request of
    ``beneficiary`` assigned to them."""
    admin = make_employee(agency_a, roles=("admin",))
    with schema_context(agency_a.schema_name):
        department = department_save(actor=admin, name_ar="قسم الصوت", name_en="Voice desk")
    assignee = make_employee(agency_a)
    with schema_context(agency_a.schema_name):
        Membership.objects.filter(user_id=assignee.pk).update(department=department)
    request_type = make_type(agency_a, actor=admin, department=department)
    beneficiary = make_beneficiary()
    item = make_request(agency_a, beneficiary=beneficiary, request_type=request_type)
    run_pending_jobs()
    mail.outbox.clear()
    with schema_context(agency_a.schema_name):
        assert item.assignee.user_id == assignee.pk
    return {
        "agency": agency_a,
        "admin": admin,
        "assignee": assignee,
        "beneficiary": beneficiary,
        "item": item,
    }


def staff_url(team, name="request_detail", **kwargs) -> str:
    return reverse(
        f"workspace:{name}",
        kwargs={"agency_slug": team["agency"].slug, "request_id": team["item"].pk, **kwargs},
    )


def public_url(team, name="detail", **kwargs) -> str:
    return reverse(
        f"requests:{name}",
        kwargs={"agency_slug": team["agency"].slug, "reference": team["item"].reference, **kwargs},
    )


def staff_file_url(team, attachment) -> str:
    return staff_url(team, "request_file", file_id=attachment.pk)


def public_file_url(team, attachment) -> str:
    return public_url(team, "file", file_id=attachment.pk)


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


def flashed(response) -> list[str]:
    if hasattr(response, "flashed"):
        return response.flashed
    return [str(m) for m in get_messages(response.wsgi_request)]


def snapshot(team) -> dict:
    """Everything a refused voice comment must leave as it was."""
    agency = team["agency"]
    with schema_context(agency.schema_name):
        item = Request.objects.get(pk=team["item"].pk)
        data = {
            "status": item.status,
            "updated_at": item.updated_at,
            "comments": Comment.objects.filter(request=item).count(),
            "attachments": Attachment.objects.filter(request=item).count(),
            "timeline": TimelineEvent.objects.filter(request=item).count(),
        }
    data["documents"] = DocumentIndex.objects.filter(agency=agency, request_id=item.pk).count()
    data["notifications"] = Notification.objects.count()
    return data


def voices(team) -> list[Attachment]:
    with schema_context(team["agency"].schema_name):
        return list(
            Attachment.objects.filter(request_id=team["item"].pk, is_voice=True)
            .select_related("comment")
            .order_by("id")
        )


def staff_post(client, team, **data):
    """POST the staff comment form, then open the page it redirects to (which shows, and so
    consumes, the messages): ``response.flashed`` are the messages, ``response.page`` the page."""
    data.setdefault("body", "")
    response = client.post(staff_url(team, "request_comment"), data)
    response.flashed = flashed(response)
    assert response.status_code == 302
    response.page = client.get(response["Location"]).content.decode()
    for message in response.flashed:
        assert escape(message) in response.page
    return response


def audio_tags(html: str) -> list[str]:
    import re

    return re.findall(r"<audio[^>]*>", html)


# --- sending and playing back -----------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(AUDIO_SAMPLES))
def test_staff_external_voice_comment_plays_on_both_sides(client, team, kind):
    name, build, content_type = AUDIO_SAMPLES[kind]
    beneficiary = team["beneficiary"]
    client.force_login(team["assignee"])
    # the staff page offers the recorder's input (voice.js finds it by data-voice-input)
    page = client.get(staff_url(team)).content.decode()
    assert "data-voice-input" in page and 'accept="audio/*"' in page
    assert "data-voice-duration" in page and "frontend/voice.js" in page

    response = staff_post(
        client,
        team,
        body="رسالة صوتية للمستفيد",
        visibility=Visibility.EXTERNAL,
        voice=audio_upload(kind),
        voice_duration="7",
    )
    assert response.status_code == 302 and response["Location"] == staff_url(team)
    assert flashed(response) == [ar("The comment was added.")]

    (voice,) = voices(team)
    assert voice.is_voice and voice.duration_seconds == 7
    assert voice.visibility == Visibility.EXTERNAL
    assert voice.content_type == content_type  # detected from the content
    assert voice.original_name == name and voice.size == len(build())
    assert voice.comment.body == "رسالة صوتية للمستفيد"
    assert voice.uploaded_by_id == team["assignee"].pk

    # the staff page plays it inline from the permission-checked download
    page = client.get(staff_url(team)).content.decode()
    (tag,) = audio_tags(page.split('id="timeline-title"', 1)[1])
    assert f'src="{staff_file_url(team, voice)}"' in tag and "controls" in tag
    assert "7s" in page
    download = client.get(staff_file_url(team, voice))
    assert download.status_code == 200
    assert download["Content-Type"] == content_type
    assert downloaded(download) == build()

    # the beneficiary sees and downloads it too, and is told about the reply
    portal = client.__class__()
    portal.force_login(beneficiary)
    page = portal.get(public_url(team)).content.decode()
    tags = audio_tags(page)
    assert len(tags) == 1 and f'src="{public_file_url(team, voice)}"' in tags[0]
    download = portal.get(public_file_url(team, voice))
    assert download.status_code == 200 and downloaded(download) == build()
    assert download["Content-Type"] == content_type
    assert download["X-Content-Type-Options"] == "nosniff"

    row = DocumentIndex.objects.get(agency=team["agency"], attachment_id=voice.pk)
    assert row.beneficiary_id == beneficiary.pk and row.uploaded_by_agency
    assert row.content_type == content_type and row.name == name
    assert (
        Notification.objects.filter(recipient=beneficiary, event="request.commented").count() == 1
    )


def test_staff_voice_only_comment_needs_no_text(client, team):
    client.force_login(team["assignee"])
    response = staff_post(
        client, team, visibility=Visibility.EXTERNAL, voice=audio_upload(), voice_duration="3"
    )
    assert response.status_code == 302 and flashed(response) == [ar("The comment was added.")]
    (voice,) = voices(team)
    assert voice.comment.body == "" and voice.duration_seconds == 3
    # without a recorded duration (a chosen file, no recorder) it is still a voice comment
    response = staff_post(client, team, visibility=Visibility.EXTERNAL, voice=audio_upload("ogg"))
    assert response.status_code == 302 and flashed(response) == [ar("The comment was added.")]
    second = voices(team)[1]
    assert second.is_voice and second.duration_seconds is None


def test_beneficiary_sends_a_voice_comment_from_the_request_page(client, team):
    beneficiary, assignee = team["beneficiary"], team["assignee"]
    client.force_login(beneficiary)
    page = client.get(public_url(team)).content.decode()
    assert "data-voice-input" in page and 'accept="audio/*"' in page
    assert "frontend/voice.js" in page

    response = client.post(
        public_url(team),
        {"body": "أرسلت لكم رسالة صوتية", "voice": audio_upload("webm"), "voice_duration": "12"},
    )
    assert response.status_code == 302 and response["Location"] == public_url(team)
    (voice,) = voices(team)
    assert voice.is_voice and voice.duration_seconds == 12
    assert voice.visibility == Visibility.EXTERNAL and voice.content_type == "video/webm"
    assert voice.uploaded_by_id == beneficiary.pk

    page = client.get(public_url(team)).content.decode()
    (tag,) = audio_tags(page)
    assert f'src="{public_file_url(team, voice)}"' in tag
    assert downloaded(client.get(public_file_url(team, voice))) == webm_bytes()
    row = DocumentIndex.objects.get(agency=team["agency"], attachment_id=voice.pk)
    assert row.beneficiary_id == beneficiary.pk and not row.uploaded_by_agency

    # the assignee is told and plays it in the workspace
    assert Notification.objects.filter(recipient=assignee, event="request.replied").count() == 1
    staff = client.__class__()
    staff.force_login(assignee)
    page = staff.get(staff_url(team)).content.decode()
    (tag,) = audio_tags(page.split('id="timeline-title"', 1)[1])
    assert f'src="{staff_file_url(team, voice)}"' in tag
    assert downloaded(staff.get(staff_file_url(team, voice))) == webm_bytes()


def test_internal_voice_comment_stays_with_the_team(client, team):
    beneficiary = team["beneficiary"]
    notes_before = Notification.objects.filter(recipient=beneficiary).count()
    client.force_login(team["assignee"])
    response = staff_post(
        client,
        team,
        body="ملاحظة صوتية داخلية",
        visibility=Visibility.INTERNAL,
        voice=audio_upload(),
        voice_duration="4",
    )
    assert response.status_code == 302 and flashed(response) == [ar("The comment was added.")]
    (voice,) = voices(team)
    assert voice.visibility == Visibility.INTERNAL and voice.is_voice
    # the team plays it
    page = client.get(staff_url(team)).content.decode()
    assert f'src="{staff_file_url(team, voice)}"' in page
    assert downloaded(client.get(staff_file_url(team, voice))) == wav_bytes()

    # the beneficiary: no player, no file, no document row, no notification, no email
    portal = client.__class__()
    portal.force_login(beneficiary)
    page = portal.get(public_url(team)).content.decode()
    assert audio_tags(page) == []
    assert "ملاحظة صوتية داخلية" not in page and voice.original_name not in page
    assert portal.get(public_file_url(team, voice)).status_code == 404
    assert not DocumentIndex.objects.filter(agency=team["agency"], attachment_id=voice.pk).exists()
    assert not DocumentIndex.objects.filter(beneficiary=beneficiary).exists()
    page = portal.get(reverse("requests:documents")).content.decode()
    assert voice.original_name not in page
    assert Notification.objects.filter(recipient=beneficiary).count() == notes_before
    run_pending_jobs()
    assert not [m for m in mail.outbox if beneficiary.email in m.to]
    # the JSON API does not list it either
    detail = portal.get(
        reverse(
            "api:api_detail",
            kwargs={"agency_slug": team["agency"].slug, "reference": team["item"].reference},
        )
    ).json()
    assert all(voice.original_name not in step["files"] for step in detail["timeline"])


# --- refused uploads --------------------------------------------------------------------------

NOT_AUDIO = {
    "png": ("voice.webm", PNG_BYTES, "audio/webm"),
    "renamed-executable": ("voice.ogg", ELF_BYTES, "audio/ogg"),
    "pdf": ("voice.wav", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "audio/wav"),
}


@pytest.mark.parametrize("sample", sorted(NOT_AUDIO))
def test_staff_voice_that_is_not_audio_is_refused(client, team, sample):
    name, content, claimed = NOT_AUDIO[sample]
    client.force_login(team["assignee"])
    before = snapshot(team)
    response = staff_post(
        client,
        team,
        body="هذا ليس صوتًا",
        visibility=Visibility.EXTERNAL,
        voice=SimpleUploadedFile(name, content, content_type=claimed),
        voice_duration="5",
    )
    assert response.status_code == 302
    assert flashed(response) == [ar(VOICE_REFUSED)]
    assert snapshot(team) == before
    assert escape(ar(VOICE_REFUSED)) in response.page


@pytest.mark.parametrize("sample", sorted(NOT_AUDIO))
def test_beneficiary_voice_that_is_not_audio_is_refused(client, team, sample):
    name, content, claimed = NOT_AUDIO[sample]
    client.force_login(team["beneficiary"])
    before = snapshot(team)
    response = client.post(
        public_url(team),
        {
            "body": "هذا ليس صوتًا",
            "voice": SimpleUploadedFile(name, content, content_type=claimed),
            "voice_duration": "5",
        },
    )
    assert response.status_code == 200  # the form again, with the error on the voice field
    assert response.context["form"].errors["voice"] == [ar(VOICE_REFUSED)]
    assert escape(ar(VOICE_REFUSED)) in response.content.decode()
    assert snapshot(team) == before


def test_too_long_voice_is_refused_and_the_limit_itself_accepted(client, team):
    limit = settings.VOICE_MAX_SECONDS
    message = ar("A voice message is at most %(n)s seconds.", n=limit)
    client.force_login(team["assignee"])
    before = snapshot(team)
    response = staff_post(
        client,
        team,
        visibility=Visibility.EXTERNAL,
        voice=audio_upload(),
        voice_duration=str(limit + 1),
    )
    assert flashed(response) == [message]
    assert snapshot(team) == before

    portal = client.__class__()
    portal.force_login(team["beneficiary"])
    response = portal.post(
        public_url(team), {"body": "", "voice": audio_upload(), "voice_duration": str(limit + 1)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["voice"] == [message]
    assert snapshot(team) == before

    response = staff_post(
        client,
        team,
        visibility=Visibility.EXTERNAL,
        voice=audio_upload(),
        voice_duration=str(limit),
    )
    assert flashed(response) == [ar("The comment was added.")]
    assert [v.duration_seconds for v in voices(team)] == [limit]


def test_too_big_voice_is_refused(client, team, settings):
    sample = wav_bytes(seconds=0.5)
    settings.VOICE_MAX_BYTES = len(sample) - 1
    client.force_login(team["assignee"])
    before = snapshot(team)
    response = staff_post(
        client,
        team,
        body="كبير",
        visibility=Visibility.INTERNAL,
        voice=SimpleUploadedFile("voice.wav", sample, content_type="audio/wav"),
        voice_duration="1",
    )
    assert flashed(response) == [ar(TOO_BIG)]
    assert snapshot(team) == before

    portal = client.__class__()
    portal.force_login(team["beneficiary"])
    response = portal.post(
        public_url(team),
        {
            "body": "كبير",
            "voice": SimpleUploadedFile("voice.wav", sample, content_type="audio/wav"),
            "voice_duration": "1",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["voice"] == [ar(TOO_BIG)]
    assert snapshot(team) == before

    settings.VOICE_MAX_BYTES = len(sample)  # exactly the limit is accepted
    response = staff_post(
        client,
        team,
        visibility=Visibility.INTERNAL,
        voice=SimpleUploadedFile("voice.wav", sample, content_type="audio/wav"),
        voice_duration="1",
    )
    assert flashed(response) == [ar("The comment was added.")]
    assert len(voices(team)) == 1


def test_another_beneficiary_cannot_download_a_voice_comment(client, team):
    client.force_login(team["assignee"])
    staff_post(
        client, team, visibility=Visibility.EXTERNAL, voice=audio_upload(), voice_duration="2"
    )
    (voice,) = voices(team)
    stranger = client.__class__()
    stranger.force_login(make_beneficiary())
    assert stranger.get(public_file_url(team, voice)).status_code == 404
    assert stranger.get(public_url(team)).status_code == 404
    anonymous = client.__class__()
    response = anonymous.get(public_file_url(team, voice))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
