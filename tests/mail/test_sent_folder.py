"""The Sent folder found without `folders`: the one the server marks \\Sent (SPECIAL-USE)
wins over one merely called "Sent"; a server that marks none is asked by the usual names,
Microsoft 365's translations among them; with neither, INBOX alone is read."""

from __future__ import annotations

from pathlib import Path

from tests.mail.conftest import TRANSLATED_SENT, MailRig, message
from tests.mail.oauth_servers import Introspection
from tests.mail.test_oauth2_login import SALES, TokenProgram, _command_account, _message_ids
from tests.mail.test_oauth2_login import _worker as oauth_worker


def _outgoing(n: int) -> bytes:
    return message(sender=SALES, to="jan@acme.example", subject=f"{n}", message_id=f"<s{n}@x>")


def test_the_folder_marked_sent_wins_over_one_named_sent(
    oauth_rig: MailRig, tmp_path: Path, introspection: Introspection
) -> None:
    rig = oauth_rig
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    program = TokenProgram(tmp_path / "program")
    program.hand_out(introspection.issue(rig.user))
    rig.dovecot.append(rig.user, "Sent", [_outgoing(1)])  # not marked: not read
    rig.dovecot.append(rig.user, TRANSLATED_SENT, [_outgoing(2)])
    report = oauth_worker(rig, _command_account(rig, program)).sync_once()
    assert [f.folder for f in report.folders] == ["INBOX", TRANSLATED_SENT]
    assert _message_ids(rig) == ["<s2@x>"]


def test_without_special_use_a_translated_name_is_found(rig: MailRig) -> None:
    rig.ok('new person "Jan de Vries" email=jan@acme.example')
    rig.dovecot.append(rig.user, "Archief", [_outgoing(1)])
    rig.dovecot.append(rig.user, "Verzonden items", [_outgoing(2)])
    report = rig.worker(folders=()).sync_once()
    assert [f.folder for f in report.folders] == ["INBOX", "Verzonden items"]
    assert report.errors == [] and report.logged == 1


def test_without_any_sent_folder_inbox_alone_is_read(rig: MailRig) -> None:
    rig.dovecot.append(rig.user, "Archief", [_outgoing(1)])
    report = rig.worker(folders=()).sync_once()
    assert [f.folder for f in report.folders] == ["INBOX"]
