"""_audit_proof: the master's own kube-apiserver URL, and a request's Audit-ID found in the audit log after it.

``logged`` searches the log from where it ended before the request: the same file from that offset, or after a
rotation (the file renamed in its directory, a new one created) the rest of the renamed file and the new file from
its start. ``prove`` is driven with a fake ``send`` that writes (or does not write) the event, and a fake clock whose
``sleep`` advances it, so waiting out a timeout takes no time.
"""

import json
import os

import pytest

from ansible_collections.nnf.kube_audit.plugins.module_utils import _audit_proof, _kube_client
from ansible_collections.nnf.kube_audit.plugins.module_utils._errors import KubeAuditError
from ansible_collections.nnf.kube_audit.plugins.module_utils.apiserver_process import Probe

AUDIT_ID = "3f1c9a52-8d0e-4c55-9b1e-6a0d2f7e4b10"
OTHER_ID = "0b7e2d19-5a43-4f6c-8e21-9c3d4a5b6e7f"
KUBECONFIG = "/etc/kubernetes/admin.conf"
SERVER = "https://10.0.0.5:6443"
PATH = "/apis/lus.cray.hpe.com/v1/nnf-kube-audit-probes/nnf-kube-audit-probe"


def probe(host, port=6443):
    return Probe(scheme="HTTPS", host=host, port=port, path="/readyz", headers={}, timeout=15)


def event(audit_id, uri="/version"):
    """One audit log line in the json format."""
    return json.dumps({"kind": "Event", "auditID": audit_id, "stage": "ResponseComplete", "requestURI": uri}) + "\n"


def append(path, text):
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)


def rotate(log_path, backup_name="audit-2026-01-02T03-04-05.000.log"):
    """What kube-apiserver's log rotation does: the file renamed within its directory, a new one created."""
    backup = os.path.join(os.path.dirname(log_path), backup_name)
    os.rename(log_path, backup)
    return backup


class FakeClock:
    """``clock()`` and ``sleep()`` for ``prove``: sleeping moves the clock, ``on_sleep`` runs after each sleep."""

    def __init__(self, start=1000.0, on_sleep=None):
        self.now = start
        self.sleeps = []
        self.on_sleep = on_sleep

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


class FakeSend:
    """``send(kubeconfig, server, path, headers, timeout)``: records the call, writes ``lines`` to the log."""

    def __init__(self, log_path, lines=(), status=404, message="Not Found: the server could not find it"):
        self.log_path = log_path
        self.lines = lines
        self.status = status
        self.message = message
        self.calls = []

    def __call__(self, kubeconfig, server, path, headers, timeout):
        self.calls.append((kubeconfig, server, path, dict(headers), timeout))
        for line in self.lines:
            append(self.log_path, line)
        return self.status, self.message


def run_prove(log_path, send, fake, timeout, path="/version"):
    """``prove`` with the fake clock, for ``KUBECONFIG``, ``SERVER`` and ``AUDIT_ID``."""
    return _audit_proof.prove(
        KUBECONFIG,
        SERVER,
        path,
        log_path,
        audit_id=AUDIT_ID,
        timeout=timeout,
        clock=fake.clock,
        sleep=fake.sleep,
        send=send,
    )


@pytest.fixture
def log_path(tmp_path):
    directory = tmp_path / "audit"
    directory.mkdir()
    return str(directory / "audit.log")


# ------------------------------------------------------------------------------------------------ server_url


def test_server_url_is_the_probe_host_and_port():
    assert _audit_proof.server_url(probe("10.0.0.5", 6443), []) == "https://10.0.0.5:6443"


def test_server_url_takes_the_probe_over_the_flags():
    flags = ["--bind-address=10.9.9.9", "--secure-port=9443"]

    assert _audit_proof.server_url(probe("192.168.1.20", 16443), flags) == "https://192.168.1.20:16443"


def test_server_url_brackets_an_ipv6_probe_host():
    assert _audit_proof.server_url(probe("fd00:10::5", 6443), []) == "https://[fd00:10::5]:6443"


def test_server_url_without_probe_is_the_bind_address_and_secure_port():
    flags = ["--bind-address=10.0.0.5", "--secure-port=8443"]

    assert _audit_proof.server_url(None, flags) == "https://10.0.0.5:8443"


def test_server_url_without_probe_or_flags_is_the_loopback_and_default_port():
    assert _audit_proof.server_url(None, []) == "https://127.0.0.1:6443"
    assert _audit_proof.DEFAULT_SECURE_PORT == 6443


@pytest.mark.parametrize("bind_address", ["0.0.0.0", "::", ""])
def test_server_url_without_probe_goes_to_the_loopback_for_an_unspecified_bind_address(bind_address):
    flags = [f"--bind-address={bind_address}", "--secure-port=7443"]

    assert _audit_proof.server_url(None, flags) == "https://127.0.0.1:7443"


def test_server_url_without_probe_brackets_an_ipv6_bind_address():
    assert _audit_proof.server_url(None, ["--bind-address=fd00::5"]) == "https://[fd00::5]:6443"


def test_server_url_reads_a_secure_port_given_as_the_next_item_and_the_last_occurrence():
    flags = ["--secure-port", "7443", "--advertise-address=10.0.0.5", "--secure-port=9443"]

    assert _audit_proof.server_url(None, flags) == "https://127.0.0.1:9443"
    assert _audit_proof.server_url(None, flags[:3]) == "https://127.0.0.1:7443"


def test_server_url_takes_the_running_process_arguments_and_never_fails_on_a_port(monkeypatch):
    # the module passes the process's own argv (values the kubelet resolved at run time are plain text there)
    assert _audit_proof.server_url(None, ["--bind-address=10.0.0.7", "--secure-port=7443"]) == "https://10.0.0.7:7443"
    assert _audit_proof.server_url(None, ["--secure-port=https"]) == "https://127.0.0.1:6443"


# ------------------------------------------------------------------------------------------------ log_position


def test_log_position_of_a_missing_log_is_none(log_path):
    assert _audit_proof.log_position(log_path) is None


def test_log_position_is_the_inode_and_size(log_path):
    append(log_path, event(OTHER_ID))

    assert _audit_proof.log_position(log_path) == (os.stat(log_path).st_ino, len(event(OTHER_ID)))


# ------------------------------------------------------------------------------------------------ logged


def test_logged_finds_an_id_written_after_the_position(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(AUDIT_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_ignores_other_ids_written_after_the_position(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(OTHER_ID, uri="/healthz"))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is False


def test_logged_does_not_count_an_id_already_in_the_log_before_the_position(log_path):
    append(log_path, event(AUDIT_ID) + event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(OTHER_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is False


def test_logged_finds_an_id_written_right_at_the_position(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, AUDIT_ID + "\n")

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_when_the_log_did_not_exist_searches_the_new_file_from_its_start(log_path):
    assert _audit_proof.logged(log_path, AUDIT_ID, None) is False

    append(log_path, event(AUDIT_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, None) is True


def test_logged_when_the_log_did_not_exist_and_still_does_not_is_false(log_path):
    assert _audit_proof.logged(log_path, AUDIT_ID, None) is False


def test_logged_after_a_rotation_finds_the_id_in_the_rest_of_the_renamed_file(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(AUDIT_ID))
    rotate(log_path)
    append(log_path, event(OTHER_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_after_a_rotation_finds_the_id_in_the_new_file_from_its_start(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    rotate(log_path)
    append(log_path, event(AUDIT_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_after_a_rotation_does_not_count_the_id_before_the_position_in_the_renamed_file(log_path):
    append(log_path, event(AUDIT_ID) + event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(OTHER_ID))
    rotate(log_path)
    append(log_path, event(OTHER_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is False


def test_logged_after_a_rotation_before_the_new_file_exists_reads_the_renamed_one(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    append(log_path, event(AUDIT_ID))
    rotate(log_path)

    assert not os.path.exists(log_path)
    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_after_a_rotation_with_the_id_nowhere_is_false(log_path):
    append(log_path, event(OTHER_ID))
    before = _audit_proof.log_position(log_path)
    rotate(log_path)
    append(log_path, event(OTHER_ID))

    assert _audit_proof.logged(log_path, AUDIT_ID, before) is False


def test_logged_after_a_truncation_searches_the_file_from_its_start(log_path):
    append(log_path, event(OTHER_ID) * 3)
    before = _audit_proof.log_position(log_path)
    with open(log_path, "w", encoding="utf-8") as handle:  # copytruncate: same inode, shorter
        handle.write(event(AUDIT_ID))

    assert _audit_proof.log_position(log_path)[0] == before[0]
    assert _audit_proof.logged(log_path, AUDIT_ID, before) is True


def test_logged_with_a_relative_log_path_finds_the_renamed_file_in_the_working_directory(log_path, monkeypatch):
    monkeypatch.chdir(os.path.dirname(log_path))
    append("audit.log", event(OTHER_ID))
    before = _audit_proof.log_position("audit.log")
    append("audit.log", event(AUDIT_ID))
    rotate(log_path)

    assert _audit_proof.logged("audit.log", AUDIT_ID, before) is True


def test_logged_finds_an_id_split_across_read_chunks(log_path, monkeypatch):
    monkeypatch.setattr(_audit_proof, "_CHUNK", 8)
    append(log_path, "0123")
    before = _audit_proof.log_position(log_path)
    append(log_path, "abcd" + "id-42xyz" + "........")  # from the offset: chunk "abcdid-4", then "2xyz...."

    assert _audit_proof.logged(log_path, "id-42xyz", before) is True
    assert _audit_proof.logged(log_path, "id-43xyz", before) is False


# ------------------------------------------------------------------------------------------------ prove


def test_prove_sends_the_audit_id_and_returns_the_proof(log_path):
    append(log_path, event(OTHER_ID))
    send = FakeSend(log_path, lines=[event(AUDIT_ID, uri=PATH)])
    fake = FakeClock()

    result = run_prove(log_path, send, fake, timeout=10, path=PATH)

    assert send.calls == [(KUBECONFIG, SERVER, PATH, {"Audit-ID": AUDIT_ID}, 10)]
    assert result == {
        "audit_id": AUDIT_ID,
        "request": f"GET {PATH}",
        "server": SERVER,
        "status": 404,
        "log_path": log_path,
        "elapsed": 0.0,
    }
    assert fake.sleeps == []


@pytest.mark.parametrize(("timeout", "send_timeout"), [(0.5, 1), (10, 10), (30, 30), (120, 30)])
def test_prove_bounds_the_send_timeout_between_one_and_thirty_seconds(log_path, timeout, send_timeout):
    send = FakeSend(log_path, lines=[event(AUDIT_ID)])
    fake = FakeClock()

    run_prove(log_path, send, fake, timeout=timeout)

    assert send.calls[0][4] == send_timeout


def test_prove_waits_until_the_event_reaches_the_log(log_path):
    append(log_path, event(OTHER_ID))
    fake = FakeClock(on_sleep=lambda count: count == 2 and append(log_path, event(AUDIT_ID)))

    result = run_prove(log_path, FakeSend(log_path, status=200, message="OK"), fake, timeout=5)

    assert fake.sleeps == [0.2, 0.2]
    assert result["elapsed"] == 0.4
    assert result["status"] == 200


def test_prove_finds_the_event_in_a_log_created_by_the_request(log_path):
    fake = FakeClock()

    result = run_prove(log_path, FakeSend(log_path, lines=[event(AUDIT_ID)]), fake, timeout=5)

    assert result["audit_id"] == AUDIT_ID


def test_prove_finds_the_event_written_just_before_a_rotation(log_path):
    append(log_path, event(OTHER_ID))

    def on_sleep(count):
        if count == 1:
            append(log_path, event(AUDIT_ID))
            rotate(log_path)
            append(log_path, event(OTHER_ID))

    fake = FakeClock(on_sleep=on_sleep)

    result = run_prove(log_path, FakeSend(log_path), fake, timeout=5)

    assert result["elapsed"] == 0.2


def test_prove_without_the_event_raises_not_logged_after_the_timeout(log_path):
    append(log_path, event(OTHER_ID))
    fake = FakeClock(start=500.0)
    send = FakeSend(log_path, lines=[event(OTHER_ID)], status=403, message="Forbidden: user cannot get")

    with pytest.raises(_audit_proof.NotLogged) as raised:
        run_prove(log_path, send, fake, timeout=3, path=PATH)

    assert str(raised.value) == (
        f"the proof request GET {PATH} to {SERVER} (answered 403 Forbidden: user cannot get, Audit-ID {AUDIT_ID}) "
        f"is not in {log_path} after 3 seconds"
    )
    assert fake.now >= 503.0
    assert fake.now == pytest.approx(503.0)
    assert all(0.0 <= seconds <= 0.2 for seconds in fake.sleeps)
    assert len(send.calls) == 1


def test_prove_not_logged_leaves_out_the_message_of_a_successful_answer(log_path):
    fake = FakeClock()

    with pytest.raises(_audit_proof.NotLogged, match=r"\(answered 200, Audit-ID "):
        run_prove(log_path, FakeSend(log_path, status=200, message="OK"), fake, timeout=1)


def test_prove_does_not_count_the_id_of_an_earlier_attempt(log_path):
    append(log_path, event(AUDIT_ID))
    fake = FakeClock()

    with pytest.raises(_audit_proof.NotLogged, match=r"is not in .*audit\.log after 2 seconds$"):
        run_prove(log_path, FakeSend(log_path, lines=[event(OTHER_ID)]), fake, timeout=2)


def test_prove_of_a_request_that_cannot_be_sent_raises_not_logged_at_once(log_path):
    fake = FakeClock()

    def refused(kubeconfig, server, path, headers, timeout):
        raise _kube_client.KubeClientError(f"GET {path} from {server}: connection refused")

    with pytest.raises(_audit_proof.NotLogged) as raised:
        run_prove(log_path, refused, fake, timeout=30)

    assert str(raised.value) == f"the proof request could not be sent: GET /version from {SERVER}: connection refused"
    assert fake.sleeps == []


def test_prove_turns_any_kube_audit_error_of_send_into_not_logged(log_path):
    def broken(kubeconfig, server, path, headers, timeout):
        raise KubeAuditError("the kubeconfig has no user")

    with pytest.raises(
        _audit_proof.NotLogged, match=r"^the proof request could not be sent: the kubeconfig has no user$"
    ):
        _audit_proof.prove(KUBECONFIG, SERVER, "/version", log_path, audit_id=AUDIT_ID, timeout=5, send=broken)


def test_prove_sends_with_the_kube_client_by_default(log_path, monkeypatch):
    send = FakeSend(log_path, lines=[event(AUDIT_ID)], status=200, message="OK")
    monkeypatch.setattr(_kube_client, "send_read", send)

    result = _audit_proof.prove(KUBECONFIG, SERVER, "/version", log_path, audit_id=AUDIT_ID, timeout=5)

    assert send.calls == [(KUBECONFIG, SERVER, "/version", {"Audit-ID": AUDIT_ID}, 5)]
    assert result["request"] == "GET /version"


def test_not_logged_is_a_kube_audit_error():
    assert issubclass(_audit_proof.NotLogged, KubeAuditError)
