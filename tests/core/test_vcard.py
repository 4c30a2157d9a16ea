"""The vCard reader and writer (core/services/vcard.py), without the database: real client
exports, malformed cards, and a property test that writing then reading gives the contact back."""

from __future__ import annotations

import base64
import os
import time
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.services import vcard

# The real client exports live beside the project (../shared/samples); CONTACTS_SAMPLES_DIR overrides.
SAMPLES = Path(os.environ.get("CONTACTS_SAMPLES_DIR") or Path(__file__).resolve().parents[2].parent / "shared" / "samples") / "vcard"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def read(text: str | bytes) -> list:
    return list(vcard.read_cards(text))


def only(text):
    [(number, record)] = read(text)
    assert number == 1 and isinstance(record, dict), record
    return record


def sample(name: str) -> list:
    if not SAMPLES.is_dir():
        pytest.skip(f"the shared samples are not here ({SAMPLES})")
    return read((SAMPLES / name).read_bytes())


# --- real client exports ------------------------------------------------------------------------


def test_android_21_quoted_printable_utf8_names_and_a_broken_photo():
    cards = dict(sample("android-1.vcf"))
    assert len(cards) == 6 and all(isinstance(r, dict) for r in cards.values())
    assert cards[1]["email"] == "john.doe@company.com" and cards[1]["tags"] == ["My Contacts"]
    assert cards[3]["last_name"] == "Ñ Ñ Ñ Ñ" and cards[3]["phone"] == "123456789"
    assert [p["value"] for p in cards[4]["extra"]["phones"]] == ["234567", "3456789", "45678901"]
    assert cards[4]["extra"]["notes"].startswith("Ñ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ")
    five = cards[5]
    assert (five["first_name"], five["last_name"], five["email"]) == ("Ñ Ñ Ñ", "Ñ Ñ", "bob@company.com")
    assert five["organization"] == "ÑÑÑÑÑÑÑÑÑÑÑÑ"
    assert five["warnings"] == ["photo skipped: it is not valid base64."] and "photo" not in five["extra"]
    assert cards[6]["email"] == "henry@company.com" and cards[6]["phone"] == "55556666"


def test_apple_ios_groups_labels_photo_and_doubled_carriage_returns():
    [(_, r)] = sample("apple-ios-1.vcf")
    assert (r["first_name"], r["last_name"], r["email"], r["organization"]) == (
        "John Richter James", "Doe", "john.doe@ibm.com", "IBM")
    assert r["phone"] == "905-555-1234"  # TYPE=pref
    assert {"label": "home", "value": "905-666-1234"} in r["extra"]["phones"]
    assert r["extra"]["title"] == "Money Counter" and r["extra"]["birthday"] == "2012-06-06"
    assert r["extra"]["photo"]["mime"] == "image/jpeg" and len(r["extra"]["photo"]["data"]) == 32531
    work = [a for a in r["extra"]["addresses"] if a["label"] == "work"][0]
    assert work["street"] == "Street4\nBuilding 6\nFloor 8" and work["postcode"] == "12345" and work["country"] == "USA"


def test_apple_macos_mixed_line_endings_and_a_company_card():
    [(_, r)] = sample("apple-macos-1.vcf")
    assert (r["first_name"], r["last_name"], r["email"], r["phone"]) == (
        "John Richter James", "Doe", "john.doe@ibm.com", "905-777-1234")
    assert len(r["extra"]["photo"]["data"]) == 18242 and r["extra"]["notes"].endswith("Favotire Color: Blue")
    [(_, company)] = sample("apple-macos-2.vcf")
    assert company["first_name"] == "Apple Computer AG" and company["organization"] == "Apple Computer AG"
    assert company["extra"]["addresses"][0]["locality"] == "Wallisellen-Zürich"


def test_google_exports():
    [(_, r)] = sample("google-1.vcf")
    assert (r["first_name"], r["last_name"], r["email"], r["phone"]) == ("VCard", "Test", "email@example.com", "5555551111")
    assert [e["value"] for e in r["extra"]["emails"]] == [
        "homeemail@example.com", "workemail@example.com", "otheremail@example.com", "customcategory@example.com"]
    assert [e["label"] for e in r["extra"]["emails"]][:2] == ["home", "work"]
    assert r["extra"]["notes"] == "note line 1\nnote line 2\nCustomField: field value"
    assert r["extra"]["urls"][0] == {"label": "other", "value": "http://www.example1.com"}
    names = [(r["first_name"], r["last_name"], r["email"]) for _, r in sample("google-2.vcf")]
    assert names == [("Arnold", "Smith", "asmithk@gmail.com"), ("Chris", "Beatle", "chrisy55d@yahoo.com"),
                     ("Doug", "White", "dwhite@gmail.com")]


def test_outlook_21_bare_parameters_qp_notes_and_windows_1252():
    [(_, r)] = sample("outlook-1.vcf")
    assert (r["first_name"], r["last_name"], r["email"], r["phone"]) == (
        "Michael", "Angstadt", "mike.angstadt@gmail.com", "(111) 555-1111")
    assert r["extra"]["phones"] == [{"label": "home", "value": "(111) 555-2222"},
                                    {"label": "mobile", "value": "(111) 555-4444"},
                                    {"label": "work", "value": "(111) 555-3333"}]
    assert r["extra"]["notes"].startswith("This is the NOTE field\t\nI assume it encodes")
    assert r["extra"]["birthday"] == "1922-03-10" and r["extra"]["photo"]["mime"] == "image/jpeg"
    [(_, german)] = sample("outlook-3.vcf")
    assert (german["first_name"], german["last_name"], german["email"]) == ("Rudi", "Wimmel", "Wimmel@wurstdarm.de")
    assert german["extra"]["addresses"][0]["street"] == "Business-Straße 19"
    [(_, doe)] = sample("outlook-2.vcf")
    assert (doe["first_name"], doe["last_name"], doe["email"]) == ("John", "Doe", "jdoe@hotmail.com")


def test_thunderbird_nextcloud_davx5_sogo_evolution():
    one, two = sample("thunderbird-1.vcf")
    assert (one[1]["first_name"], one[1]["last_name"], one[1]["email"]) == ("contact", "one", "contact1@invalid")
    assert two[1]["extra"]["notes"] == "here's some unicode text…" and two[1]["extra"]["title"] == '"worker"'
    [(_, tb)] = sample("thunderbird-2.vcf")
    assert (tb["first_name"], tb["email"], tb["phone"]) == ("John", "doe.john@hotmail.com", "555-555-1111")
    assert len(tb["extra"]["emails"]) == 4 and tb["extra"]["birthday"] == "1970-09-21"
    [(_, nc)] = sample("nextcloud-1.vcf")
    assert (nc["first_name"], nc["last_name"], nc["email"], nc["phone"]) == (
        "Dummy", "Dummy", "dummy.dummy@dummy.com", "+49 1234 56789")
    assert nc["external_id"] == "8b574c60-fd7f-4e99-b584-c5db131ae687" and nc["organization"] == "Dummy GmbH"
    [(_, dav)] = sample("davx5-1.vcf")
    assert (dav["first_name"], dav["last_name"]) == ("Pretty Long With-Hyphen", "Name") and dav["tags"] == ["xxxxxx"]
    [(_, sogo)] = sample("sogo-connector-1.vcf")
    assert (sogo["first_name"], sogo["last_name"], sogo["email"]) == ("Theo", "Tester", "theo.tester@radicale.org")
    [(_, evo)] = sample("evolution-1.vcf")
    assert (evo["first_name"], evo["email"], evo["extra"]["birthday"]) == ("John Richter James", "john.doe@ibm.com",
                                                                          "1980-03-22")


# --- malformed input ----------------------------------------------------------------------------

GOOD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good One\r\nN:One;Good;;;\r\nEMAIL:good@example.org\r\nEND:VCARD\r\n"


def test_a_missing_end_is_an_error_for_that_card_only():
    text = "BEGIN:VCARD\nVERSION:3.0\nFN:Broken\n" + GOOD + "BEGIN:VCARD\nFN:Cut off\n"
    cards = read(text)
    assert [n for n, _ in cards] == [1, 2, 3]
    assert "END:VCARD is missing" in cards[0][1] and cards[1][1]["email"] == "good@example.org"
    assert "file ends inside" in cards[2][1]


def test_bad_base64_broken_folding_and_garbage_lines_do_not_lose_the_card():
    text = ("BEGIN:VCARD\nVERSION:3.0\nN:Doe;Jane;;;\nPHOTO;ENCODING=b;TYPE=JPEG:@@@not base64@@@\n"
            "this line has no colon\n EMAIL:folded@example.org\nEND:VCARD\n")
    record = only(text)
    assert record["first_name"] == "Jane" and "photo skipped: it is not valid base64." in record["warnings"]
    assert any(w.startswith("line skipped") for w in record["warnings"])


def test_a_card_without_name_or_email_a_huge_field_and_a_non_vcard_are_errors():
    assert read("BEGIN:VCARD\nVERSION:3.0\nTEL:123\nEND:VCARD\n") == [(1, "The card has no name and no email address.")]
    huge = f"BEGIN:VCARD\nVERSION:3.0\nFN:Big\nNOTE:{'x' * 200_000}\nEND:VCARD\n" + GOOD
    cards = read(huge)
    assert cards[0] == (1, "NOTE is too long (200000 characters).") and cards[1][1]["first_name"] == "Good"
    assert read("name,email\nAda,ada@example.org\n") == [(1, "This is not a vCard file: no BEGIN:VCARD line.")]
    assert read(b"") == [(1, "This is not a vCard file: no BEGIN:VCARD line.")]


def test_a_huge_card_is_refused_quickly():
    body = "NOTE:" + "y" * 70 + "\n"
    text = "BEGIN:VCARD\nFN:Huge\n" + body * 70_000 + "END:VCARD\n" + GOOD
    started = time.monotonic()
    cards = read(text)
    assert "too large" in cards[0][1] and cards[1][1]["email"] == "good@example.org"
    photo = base64.b64encode(JPEG * 1500).decode()  # ~2 MB of base64, folded in 74-character lines
    folded = "\r\n ".join(photo[i:i + 74] for i in range(0, len(photo), 74))
    record = only(f"BEGIN:VCARD\r\nFN:Photo\r\nPHOTO;ENCODING=b;TYPE=JPEG:{folded}\r\nEND:VCARD\r\n")
    assert record["extra"]["photo"]["data"] == JPEG * 1500
    assert time.monotonic() - started < 30  # a guard against a hang, not a speed test


def test_wrong_encodings_latin1_files_and_bad_charsets():
    latin1 = "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Müller;Jürgen\r\nEND:VCARD\r\n".encode("cp1252")
    assert only(latin1)["last_name"] == "Müller"
    qp = "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=x-unknown;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen\nEND:VCARD\n"
    assert only(qp)["last_name"] == "Müller"
    lying = "BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=FCller;=FF=C3\nEND:VCARD\n"
    assert only(lying)["last_name"] == "Müller"  # not UTF-8 after all: read as Windows-1252
    utf16 = GOOD.encode("utf-16")
    assert only(utf16)["email"] == "good@example.org"
    bom = b"\xef\xbb\xbf" + GOOD.encode()
    assert only(bom)["email"] == "good@example.org"


def test_vcard_4_data_uri_photo_pref_and_yearless_birthday():
    photo = base64.b64encode(JPEG).decode()
    text = ("BEGIN:VCARD\nVERSION:4.0\nFN:Ann Lee\nN:Lee;Ann;;;\nEMAIL;TYPE=work:w@example.org\n"
            "EMAIL;PREF=1:p@example.org\nTEL;VALUE=uri;TYPE=cell:tel:+44-20-7946-0958\nBDAY:--1231\n"
            f"PHOTO:data:image/jpeg;base64,{photo}\nEND:VCARD\n")
    r = only(text)
    assert r["email"] == "p@example.org" and r["extra"]["emails"] == [{"label": "work", "value": "w@example.org"}]
    assert r["phone"] == "+44-20-7946-0958" and r["extra"]["photo"] == {"mime": "image/jpeg", "data": JPEG}
    assert "birthday" not in r["extra"] and any("birthday" in w for w in r["warnings"])


# --- writing and reading back -------------------------------------------------------------------


def fake_contact(first="Ada", last="Lovelace", email="ada@example.org", phone="+442079460958", org=None, cid=7):
    organization = SimpleNamespace(name=org, deleted_at=None) if org else None
    full = f"{first} {last}".strip() or email or f"Contact {cid}"
    return SimpleNamespace(id=cid, first_name=first, last_name=last, email=email, phone=phone,
                           organization=organization, full_name=full, created_at=datetime(2024, 5, 1, 12, 0, 0))


def details_of(**values):
    base = {"title": "", "birthday": None, "notes": "", "emails": [], "phones": [], "urls": [], "addresses": [],
            "has_photo": False}
    return base | values


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_write_folds_at_75_octets_and_reads_back(version):
    d = details_of(title="Countess; of, Lovelace", birthday=date(1815, 12, 10), notes="Line one\nLine two, long " * 20,
                   emails=[{"label": "work", "value": "ada@work.example.org"}],
                   phones=[{"label": "mobile", "value": "+447700900123"}],
                   urls=[{"label": "other", "value": "https://example.org/a,b;c"}],
                   addresses=[{"label": "home", "street": "12 St James's Square\nFlat 3", "locality": "London",
                               "region": "", "postcode": "SW1Y 4JH", "country": "United Kingdom"}])
    text = vcard.write_card(fake_contact(org="Analytical Engines; Ltd"), d, version, photo=("image/jpeg", JPEG))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.startswith(f"BEGIN:VCARD\r\nVERSION:{version}\r\n") and text.endswith("END:VCARD\r\n")
    r = only(text)
    assert (r["first_name"], r["last_name"], r["email"], r["phone"]) == ("Ada", "Lovelace", "ada@example.org",
                                                                         "+442079460958")
    assert r["organization"] == "Analytical Engines; Ltd" and r["external_id"].startswith("urn:uuid:")
    extra = r["extra"]
    assert extra["title"] == d["title"] and extra["birthday"] == "1815-12-10" and extra["notes"] == d["notes"].strip()
    assert extra["emails"] == d["emails"] and extra["phones"] == d["phones"] and extra["urls"] == d["urls"]
    assert extra["addresses"] == d["addresses"] and extra["photo"] == {"mime": "image/jpeg", "data": JPEG}


NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(
    lambda s: s == s.strip() and s.strip())
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n"), max_size=200).map(
    lambda s: s.strip())
LABEL = st.sampled_from(["home", "work", "mobile", "other"])


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(first=NAME, last=NAME, title=TEXT, notes=TEXT, street=TEXT, city=TEXT, label=LABEL,
       version=st.sampled_from(["3.0", "4.0"]))
def test_round_trip_property_with_odd_unicode(first, last, title, notes, street, city, label, version):
    title = title.replace("\n", " ").strip()
    d = details_of(title=title, notes=notes, addresses=[{"label": label, "street": street, "locality": city,
                                                         "region": "", "postcode": "", "country": "x"}])
    contact = fake_contact(first, last, email=None, phone="")
    text = vcard.write_card(contact, d, version)
    r = only(text)
    assert (r["first_name"], r["last_name"]) == (first, last)
    assert r["extra"].get("title", "") == title and r["extra"].get("notes", "") == notes
    assert r["extra"]["addresses"] == d["addresses"]
    # And writing what was read gives the same file.
    again = details_of(title=r["extra"].get("title", ""), notes=r["extra"].get("notes", ""),
                       addresses=r["extra"]["addresses"])
    assert vcard.write_card(fake_contact(r["first_name"], r["last_name"], email=None, phone=""), again, version,
                            uid=r["external_id"]) == text


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_an_independent_reader_vobject_reads_our_export(version):
    vobject = pytest.importorskip("vobject")
    d = details_of(title="Countess, of Lovelace", notes="Two\nlines; and more",
                   emails=[{"label": "work", "value": "ada@work.example.org"}],
                   addresses=[{"label": "home", "street": "12 St James's Square", "locality": "London",
                               "region": "", "postcode": "SW1Y 4JH", "country": "United Kingdom"}])
    card = vobject.readOne(vcard.write_card(fake_contact("Ádá", "Lövelace", org="Engines; Ltd"), d, version,
                                            photo=("image/jpeg", JPEG)))
    assert card.fn.value == "Ádá Lövelace" and (card.n.value.given, card.n.value.family) == ("Ádá", "Lövelace")
    assert card.title.value == "Countess, of Lovelace" and card.note.value == "Two\nlines; and more"
    assert card.org.value == ["Engines; Ltd"]
    assert [e.value for e in card.contents["email"]] == ["ada@example.org", "ada@work.example.org"]
    adr = card.adr.value
    assert (adr.street, adr.city, adr.code, adr.country) == ("12 St James's Square", "London", "SW1Y 4JH", "United Kingdom")
    if version == "3.0":
        assert card.photo.value == JPEG
