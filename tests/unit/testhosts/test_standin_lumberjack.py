"""kube-apiserver stand-in: the audit log file and its lumberjack rotation."""

import calendar
import gzip
import os
import stat

import pytest
from standin import lumberjack

# 2024-05-28T13:39:50.342Z, the seed's patch time read as UTC
WHEN = calendar.timegm((2024, 5, 28, 13, 39, 50)) + 0.342694
DAY = 24 * 3600


def test_backup_name_is_lumberjacks_utc_millisecond_stamp_before_the_extension():
    name = lumberjack.backup_name("/var/log/kubernetes/kube-apiserver-audit.log", WHEN)
    assert name == "/var/log/kubernetes/kube-apiserver-audit-2024-05-28T13-39-50.342.log"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/d/audit", "/d/audit-2024-05-28T13-39-50.342"),
        ("/d/audit.log.json", "/d/audit.log-2024-05-28T13-39-50.342.json"),
        ("/d/.log", "/d/-2024-05-28T13-39-50.342.log"),
    ],
)
def test_backup_name_uses_gos_idea_of_the_extension(path, expected):
    assert lumberjack.backup_name(path, WHEN) == expected


def test_backup_time_reads_back_the_stamp_of_plain_and_gzipped_backups():
    log = "/d/audit.log"
    assert lumberjack.backup_time("audit-2024-05-28T13-39-50.342.log", log) == pytest.approx(WHEN, abs=0.001)
    assert lumberjack.backup_time("audit-2024-05-28T13-39-50.342.log.gz", log) == pytest.approx(WHEN, abs=0.001)


@pytest.mark.parametrize(
    "name",
    [
        "audit.log",
        "audit-2024-05-28T13-39-50.34.log",
        "audit-2024-13-28T13-39-50.342.log",
        "other-2024-05-28T13-39-50.342.log",
        "audit-2024-05-28T13-39-50.342.txt",
    ],
)
def test_files_lumberjack_did_not_name_are_not_backups(name):
    assert lumberjack.backup_time(name, "/d/audit.log") is None


def test_old_log_files_are_newest_first():
    names = [
        "audit.log",
        "audit-2024-05-27T00-00-00.000.log.gz",
        "audit-2024-05-28T00-00-00.000.log",
        "unrelated.txt",
        "audit-2024-05-26T00-00-00.000.log",
    ]
    found = [backup.name for backup in lumberjack.old_log_files(names, "/d/audit.log")]
    assert found == [
        "audit-2024-05-28T00-00-00.000.log",
        "audit-2024-05-27T00-00-00.000.log.gz",
        "audit-2024-05-26T00-00-00.000.log",
    ]


def backups(*days_old, now=WHEN):
    return [lumberjack.Backup(f"b{age}", now - age * DAY) for age in days_old]


def test_mill_keeps_the_newest_maxbackup_files():
    remove, gzip_these = lumberjack.mill_plan(backups(1, 2, 3, 4), 2, 0, False, WHEN)
    assert (remove, gzip_these) == (["b3", "b4"], [])


def test_mill_counts_a_file_and_its_gzip_as_one_backup():
    plan = [lumberjack.Backup("a.log", WHEN), lumberjack.Backup("a.log.gz", WHEN), lumberjack.Backup("b.log", WHEN - 1)]
    assert lumberjack.mill_plan(plan, 1, 0, False, WHEN) == (["b.log"], [])


def test_mill_drops_backups_older_than_maxage_days():
    assert lumberjack.mill_plan(backups(1, 29, 31), 0, 30, False, WHEN) == (["b31"], [])


def test_mill_compresses_what_it_keeps():
    plan = [*backups(1, 2), lumberjack.Backup("b3.gz", WHEN - 3 * DAY)]
    assert lumberjack.mill_plan(plan, 0, 0, True, WHEN) == ([], ["b1", "b2"])


def test_ensure_log_file_makes_the_directory_0700_and_the_file_0600(tmp_path):
    path = tmp_path / "kubernetes" / "audit" / "audit.log"
    lumberjack.ensure_log_file(str(path))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b""


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        self.now += 0.001
        return self.now


def test_rotation_renames_reopens_with_the_old_mode_and_keeps_maxbackup(tmp_path):
    path = tmp_path / "audit.log"
    lumberjack.ensure_log_file(str(path))
    log = lumberjack.RotatingLog(str(path), max_size_mb=1, max_backups=2, megabyte=100, clock=Clock(WHEN))
    for index in range(10):
        log.write(f"event {index:02d} {'x' * 30}\n".encode())  # 40 bytes: two lines per 100-byte "megabyte"
    log.close()
    names = sorted(os.listdir(tmp_path))
    assert names[-1] == "audit.log"
    assert len(names) == 3  # the current file and two backups
    assert all(lumberjack.backup_time(name, str(path)) for name in names[:-1])
    assert path.read_bytes() == b"event 08 " + b"x" * 30 + b"\nevent 09 " + b"x" * 30 + b"\n"
    assert all(stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600 for name in names)


def test_rotation_continues_an_existing_file_and_rotates_when_it_would_overflow(tmp_path):
    path = tmp_path / "audit.log"
    path.write_bytes(b"x" * 90)
    log = lumberjack.RotatingLog(str(path), max_size_mb=1, megabyte=100, clock=Clock(WHEN))
    log.write(b"y" * 5)
    assert path.read_bytes() == b"x" * 90 + b"y" * 5
    log.write(b"z" * 10)
    log.close()
    backup = lumberjack.backup_name(str(path), WHEN + 0.001)
    with open(backup, "rb") as handle:
        assert handle.read() == b"x" * 90 + b"y" * 5
    assert path.read_bytes() == b"z" * 10


def test_compressed_backups_replace_the_plain_ones(tmp_path):
    path = tmp_path / "audit.log"
    log = lumberjack.RotatingLog(str(path), max_size_mb=1, compress=True, megabyte=10, clock=Clock(WHEN))
    for _attempt in range(3):
        log.write(b"0123456789")
    log.close()
    names = sorted(os.listdir(tmp_path))
    assert [name.endswith(".log.gz") for name in names] == [True, True, False]
    with gzip.open(tmp_path / names[0]) as handle:
        assert handle.read() == b"0123456789"


def test_a_write_larger_than_the_limit_is_refused_with_lumberjacks_message(tmp_path):
    log = lumberjack.RotatingLog(str(tmp_path / "audit.log"), max_size_mb=1, megabyte=10)
    with pytest.raises(lumberjack.LogError, match="write length 11 exceeds maximum file size 10"):
        log.write(b"x" * 11)


def test_maxsize_zero_means_lumberjacks_100_megabytes():
    assert lumberjack.RotatingLog("/nonexistent/audit.log").max_bytes == 100 * 1024 * 1024
