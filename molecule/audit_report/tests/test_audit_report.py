"""The audit report end to end: what side_effect sent to three masters comes back merged, in order, and nothing else.

Runs on the controller after side_effect. The ground truth is twofold: ``sent-requests.jsonl`` (what side_effect
sent, in order, with the Audit-Id each master answered) and each master's audit log, read on the master. The
report is ``ansible-playbook nnf.kube_audit.audit_report -i <molecule's inventory> ...`` run as a user runs it, in
a working directory of its own where the report files land. The README's commands are taken from README.md itself,
so an example that stops working, or a new one without a check here, fails this scenario.
"""

import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import testinfra

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared"))

from kube_audit_state import AUDIT_LOG, REPO

AUDITED = ("master-1", "master-2", "master-3")
UNAUDITED = "master-4"  # group new_masters: auditing never enabled there
WITH_UNAUDITED = "kube_audit_hosts=kube_control_plane:new_masters"
CLIENTMOUNT = "system:serviceaccount:nnf-system:nnf-clientmount"
NNF_SYSTEM_ACCOUNTS = "system:serviceaccount:nnf-system:"
# The README's shell pattern form of the user filter, shown next to its service-account command.
README_USER_PATTERN = f"-e 'kube_audit_report_user={NNF_SYSTEM_ACCOUNTS}*'"
# The README's example audit ID: its command runs with the ID of a request that was sent in its place.
README_AUDIT_ID = "d1053ee5-0734-4b40-815f-3f6831f82bac"
# The README commands checked here, by their -e values; README.md must show exactly these.
README_RECIPES = {
    "summary": [],
    "events": ["kube_audit_report_format=events", "kube_audit_report_limit=0", "kube_audit_report_out=audit.jsonl"],
    "audit_id": [
        f"kube_audit_report_audit_id={README_AUDIT_ID}",
        "kube_audit_report_format=events",
        "kube_audit_report_out=event.jsonl",
    ],
    "clientmount": [f"kube_audit_report_user={CLIENTMOUNT}"],
    "exec_counts": ["kube_audit_report_recipe=exec", "kube_audit_report_format=counts"],
}
RECIPES = ("deletions", "secret_access", "exec", "denied", "rbac_changes", "impersonation")
# side_effect sends this Audit-ID to master-2 and master-3 (items marked duplicate).
DUPLICATE_ID = "6f1c3a52-9d0e-4b7a-8c21-5e3f0a9b7d14"
NOT_RECORDED = "the audit policy on this master does not record these requests"
TABLE_HEADER = ["HOST", "TIME", "USER", "VERB", "CODE", "URI"]
# The debug task that prints the report, as the default stdout callback shows it.
PRINTED_REPORT = re.compile(
    r"^TASK \[nnf\.kube_audit\.kube_audit_report : Show the merged report\].*?^ok: \[[^\]]+\] => (\{.*?^\})$",
    re.MULTILINE | re.DOTALL,
)


class Run:
    """One ansible-playbook run: return code, output and the report it printed (lines)."""

    def __init__(self, argv, completed, cwd):
        self.argv = argv
        self.cwd = cwd
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        found = PRINTED_REPORT.search(completed.stdout)
        self.printed = json.loads(found.group(1))["msg"] if found else None

    def __repr__(self):
        return f"$ {shlex.join(self.argv)}\nrc={self.rc}\n{self.output[-3000:]}"

    @property
    def rows(self):
        """The printed table's rows, split into their six columns (no value holds a space)."""
        assert self.printed is not None, self
        assert self.printed[0].split() == TABLE_HEADER, self
        return [line.split() for line in self.printed[1 : self.printed.index("")]]

    def host_line(self, host):
        return next(line for line in self.printed if line.startswith(f"{host}: "))

    def read_jsonl(self, name):
        """A JSON lines file the run wrote, named relative to where it ran."""
        path = os.path.join(self.cwd, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # audit events are sensitive
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def sent():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "sent-requests.jsonl")
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def log_texts(pytestconfig):
    """Each audited master's audit log, read on the master."""
    inventory = pytestconfig.getoption("ansible_inventory")
    return {
        name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory).file(AUDIT_LOG).content_string
        for name in AUDITED
    }


@pytest.fixture(scope="module")
def logs(log_texts):
    """Each audited master's audit events, in file order."""
    return {name: [json.loads(line) for line in text.splitlines()] for name, text in log_texts.items()}


@pytest.fixture(scope="module")
def merged(logs):
    """What the report must give back: every logged event with its host first, oldest first."""
    events = [dict({"host": host}, **event) for host in AUDITED for event in logs[host]]
    return sorted(events, key=lambda event: event["stageTimestamp"])


@pytest.fixture(scope="module")
def readme():
    """The README's audit_report commands (the arguments after ``-i inventory``) and code spans, from README.md."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index("## Reading the audit log") :]
    section = section[: section.index("\n## ")]
    spans = [span.replace("\\|", "|") for span in re.findall(r"`([^`\n]+)`", section)]  # \| is a table's |
    prefix = "ansible-playbook nnf.kube_audit.audit_report -i inventory"
    commands = [shlex.split(span[len(prefix) :]) for span in spans if re.match(re.escape(prefix) + r"(\s|$)", span)]
    return {"commands": commands, "spans": spans}


def readme_command(readme, recipe):
    """The README command of ``recipe`` (README_RECIPES), as README.md spells it; None if it is gone."""
    wanted = sorted(README_RECIPES[recipe])
    for args in readme["commands"]:
        if args[0::2] == ["-e"] * (len(args) // 2) and sorted(args[1::2]) == wanted:
            return args
    return None


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The user's working directory: ansible-playbook and jq run here, and the report files land here."""
    return tmp_path_factory.mktemp("audit_report")


@pytest.fixture(scope="module")
def reports(pytestconfig, workdir, readme, sent, merged):
    """Every report the tests check, by name: ansible-playbook nnf.kube_audit.audit_report -i INVENTORY ARGS...

    They only read, so they run three at a time (this scenario's time is mostly ansible-playbook starting).
    """
    wanted = {recipe: readme_command(readme, recipe) for recipe in ("summary", "events", "clientmount", "exec_counts")}
    for recipe in RECIPES:
        wanted[f"recipe_{recipe}"] = ["-e", f"kube_audit_report_recipe={recipe}", "-e", "kube_audit_report_limit=0"]
        wanted[f"recipe_{recipe}"] += ["-e", "kube_audit_report_format=events"]
        wanted[f"recipe_{recipe}"] += ["-e", f"kube_audit_report_out=recipe-{recipe}.jsonl"]
    wanted["duplicate"] = ["-e", f"kube_audit_report_audit_id={DUPLICATE_ID}", "-e", "kube_audit_report_format=events"]
    wanted["duplicate"] += ["-e", "kube_audit_report_out=duplicate.jsonl"]
    # side_effect put the nnf preset at /root/nnf-policy.yaml: judged as if it were the installed policy
    wanted["nnf_policy"] = ["-e", "kube_audit_report_recipe=secret_access"]
    wanted["nnf_policy"] += ["-e", "kube_audit_report_policy_file=/root/nnf-policy.yaml"]
    audit_id = readme_command(readme, "audit_id")
    if audit_id is not None:  # with jane's get of nnfstorages/x on master-2 (also requested on master-3, by another)
        wanted["audit_id"] = [arg.replace(README_AUDIT_ID, sent[1]["auditID"]) for arg in audit_id]
    if README_USER_PATTERN in readme["spans"]:
        wanted["user_pattern"] = shlex.split(README_USER_PATTERN)
    cut = next(event for event in merged if event["auditID"] == sent[9]["auditID"])["stageTimestamp"]
    wanted["window"] = ["-e", "kube_audit_report_since=1h", "-e", f"kube_audit_report_until={cut}"]
    wanted["window"] += ["-e", "kube_audit_report_format=events", "-e", "kube_audit_report_out=window.jsonl"]
    wanted["until_an_hour_ago"] = ["-e", "kube_audit_report_until=1h"]
    wanted["counts_check_mode"] = ["--check", "-e", "kube_audit_report_format=counts"]
    wanted["counts_check_mode"] += ["-e", "kube_audit_report_out=counts.json"]
    wanted["unaudited"] = ["-e", WITH_UNAUDITED]
    wanted["unaudited_missing_ok"] = ["-e", WITH_UNAUDITED, "-e", "kube_audit_report_missing_ok=true"]
    inventory = pytestconfig.getoption("ansible_inventory")
    # molecule forces colours; the printed report is parsed
    env = dict(os.environ, ANSIBLE_NOCOLOR="true", ANSIBLE_FORCE_COLOR="false")

    def run(args):
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "nnf.kube_audit.audit_report"]
        argv += ["-i", inventory, *args]
        completed = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False)
        return Run(argv, completed, workdir)

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(run, args) for name, args in wanted.items() if args is not None}
    return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def procedure(readme, workdir, log_texts):
    """Run one of the NNF procedure's jq commands (the README's left column) on each master's log: {host: output}.

    The README maps each of them to an audit_report command; the report must say what they say, on every master.
    """
    for host, text in log_texts.items():
        (workdir / "procedure" / host).mkdir(parents=True)
        (workdir / "procedure" / host / "kube-apiserver-audit.log").write_text(text, encoding="utf-8")

    def run(marker, audit_id=None):
        commands = [span for span in readme["spans"] if span.startswith("jq ") and "kube-apiserver-audit.log" in span]
        command = next((command for command in commands if marker in command), None)
        assert command, f"README.md no longer shows the procedure's jq command with {marker}"
        if audit_id:  # the README's example ID
            command = command.replace(README_AUDIT_ID, audit_id)
        return {host: json_values(jq(workdir / "procedure" / host, command)) for host in AUDITED}

    return run


@pytest.fixture(scope="module")
def readme_jq(readme, workdir):
    """Run the README's jq command that starts with ``start`` on the report file ``name``, where the report ran."""

    def run(name, start):
        commands = [
            span for span in readme["spans"] if span.startswith(start) and re.search(rf"\s{re.escape(name)}\b", span)
        ]
        assert commands, f"README.md no longer shows {start}... {name}"
        return json_values(jq(workdir, commands[0]))

    return run


def readme_report(reports, recipe):
    assert recipe in reports, f"README.md no longer shows the {recipe} example"
    return reports[recipe]


def jq(directory, command):
    """A README jq command, run in ``directory`` as the user types it; its output (the pager left out)."""
    command = re.sub(r"\s*\|\s*less$", "", command)
    completed = subprocess.run(command, shell=True, cwd=directory, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, (command, completed.stderr)
    return completed.stdout


def json_values(text):
    """Every JSON document in ``text`` (jq's output), in order."""
    decoder, values, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        value, position = decoder.raw_decode(text, position)
        values.append(value)
        position = len(text) - len(text[position:].lstrip())
    return values


def table_rows(events):
    """The rows the report table must print for ``events`` (host first): HOST TIME USER VERB CODE URI."""
    return [
        [
            event["host"],
            event["stageTimestamp"],
            event["user"]["username"],
            event["verb"],
            str(event["responseStatus"]["code"]) if "responseStatus" in event else "-",
            event["requestURI"],
        ]
        for event in events
    ]


def test_each_master_logged_exactly_the_requests_sent_to_it_in_order(sent, logs):
    """The ground truth the other tests rely on: two events per request sent, on its master, nothing else."""
    assert [request["host"] for request in sent] == (list(AUDITED) * 8)[: len(sent)]  # interleaved: m1, m2, m3, m1, ...
    for host in AUDITED:
        expected = [
            (request["auditID"], stage, request["path"], request["user"])
            for request in sent
            if request["host"] == host
            for stage in ("RequestReceived", "ResponseComplete")
        ]
        logged = [(e["auditID"], e["stage"], e["requestURI"], e["user"]["username"]) for e in logs[host]]
        assert logged == expected
    # Sent one at a time, each answered before the next: their times are strictly in the order sent.
    # (host, auditID): one Audit-ID was sent to two masters
    by_id = {
        (host, event["auditID"]): event
        for host in AUDITED
        for event in logs[host]
        if event["stage"] == "RequestReceived"
    }
    times = [by_id[request["host"], request["auditID"]]["stageTimestamp"] for request in sent]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_readme_summary_of_every_master(reports, procedure, sent, merged):
    """README: `ansible-playbook nnf.kube_audit.audit_report -i inventory`, the procedure's summary on all masters."""
    run = readme_report(reports, "summary")
    assert run.rc == 0, run
    assert run.rows == table_rows(merged)
    # the procedure's [.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp] per master
    summaries = procedure("[.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]")
    rows = [
        [host, time, user, verb, "-" if code is None else str(code), uri]
        for host in AUDITED
        for _id, verb, uri, user, code, time in summaries[host]
    ]
    assert run.rows == sorted(rows, key=lambda row: row[1])
    assert [row[0] for row in run.rows] == [request["host"] for request in sent for _stage in range(2)]
    after_table = run.printed[run.printed.index("") + 1 :]
    assert after_table[0] == f"{2 * len(sent)} matching events"
    for host in AUDITED:
        events = 2 * len([request for request in sent if request["host"] == host])
        assert (
            run.host_line(host) == f"{host}: read 1 file (0.0 MiB, {events} lines): {events} matched, {events} returned"
        )
    assert len(after_table) == 1 + len(AUDITED)  # no line for master-4, which is not in the playbook's hosts


def test_readme_every_event_as_json_lines_for_jq(reports, readme_jq, procedure, merged):
    """README: format=events, limit=0, out=audit.jsonl, then the procedure's jq recipes on the file."""
    run = readme_report(reports, "events")
    assert run.rc == 0, run
    written = run.read_jsonl("audit.jsonl")  # relative to where ansible-playbook ran, as the README means
    assert written == merged
    assert [list(line) for line in written] == [list(event) for event in merged]  # host first, then as logged
    everything = procedure("-M . kube-apiserver-audit.log")  # the procedure's jq -M . kube-apiserver-audit.log
    tagged = [dict({"host": host}, **event) for host in AUDITED for event in everything[host]]
    assert written == sorted(tagged, key=lambda event: event["stageTimestamp"])
    assert run.rows == table_rows(merged)

    assert readme_jq("audit.jsonl", "jq -M . ") == merged
    fields = "[.host,.auditID,.verb,.requestURI,.user.username,.responseStatus.code,.stageTimestamp]"
    assert readme_jq("audit.jsonl", f"jq -c '{fields}'") == [
        [
            event["host"],
            event["auditID"],
            event["verb"],
            event["requestURI"],
            event["user"]["username"],
            event.get("responseStatus", {}).get("code"),
            event["stageTimestamp"],
        ]
        for event in merged
    ]


def test_readme_one_request_by_audit_id(reports, readme_jq, procedure, sent, merged):
    """README: audit_id=ID, format=events, out=event.jsonl: that request's events, from the master that served it."""
    run = readme_report(reports, "audit_id")
    assert run.rc == 0, run
    request = sent[1]  # jane's get of nnfstorages/x on master-2; master-3 served the same URI to another request
    assert (request["host"], request["user"]) == ("master-2", "jane")
    expected = [event for event in merged if event["auditID"] == request["auditID"]]
    assert [(event["host"], event["stage"]) for event in expected] == [
        ("master-2", "RequestReceived"),
        ("master-2", "ResponseComplete"),
    ]
    assert run.read_jsonl("event.jsonl") == expected
    assert run.rows == table_rows(expected)
    for host in AUDITED:
        matched = 2 if host == "master-2" else 0
        assert run.host_line(host).endswith(f": {matched} matched, {matched} returned")

    selected = procedure(".auditID==", audit_id=request["auditID"])  # the procedure's select(.auditID=="...")
    assert [dict({"host": host}, **event) for host in AUDITED for event in selected[host]] == expected
    assert readme_jq("event.jsonl", "jq -M . ") == expected


def test_readme_one_service_account(reports, procedure, sent, merged):
    """README: user=system:serviceaccount:nnf-system:nnf-clientmount, on every master it talked to."""
    run = readme_report(reports, "clientmount")
    assert run.rc == 0, run
    expected = [event for event in merged if event["user"]["username"] == CLIENTMOUNT]
    selected = procedure('.user.username=="system:serviceaccount:nnf-system:nnf-clientmount"')
    assert [dict({"host": host}, **event) for host in AUDITED for event in selected[host]] == sorted(
        expected, key=lambda event: AUDITED.index(event["host"])
    )
    assert len(expected) == 2 * sum(request["user"] == CLIENTMOUNT for request in sent)
    assert {event["host"] for event in expected} == set(AUDITED)
    assert run.rows == table_rows(expected)


def test_readme_every_service_account_of_the_namespace(reports, sent, merged):
    """README's pattern form: -e 'kube_audit_report_user=system:serviceaccount:nnf-system:*'."""
    run = readme_report(reports, "user_pattern")
    assert run.rc == 0, run
    expected = [event for event in merged if event["user"]["username"].startswith(NNF_SYSTEM_ACCOUNTS)]
    users = {request["user"] for request in sent if request["user"].startswith(NNF_SYSTEM_ACCOUNTS)}
    assert {event["user"]["username"] for event in expected} == users and len(users) == 2
    assert run.rows == table_rows(expected)


def test_since_a_duration_ago_until_a_time(reports, sent, merged):
    """since=1h (relative, on each master's clock) keeps every request; until=<time> drops that one and later."""
    run = reports["window"]
    assert run.rc == 0, run
    expected = [event for event in merged if event["auditID"] in {request["auditID"] for request in sent[:9]}]
    assert len(expected) == 18
    assert run.read_jsonl("window.jsonl") == expected


def test_until_a_duration_ago_keeps_nothing_sent_since(reports):
    """until=1h (relative): every request was sent within the hour, so nothing matches, and that is no error."""
    run = reports["until_an_hour_ago"]
    assert run.rc == 0, run
    assert run.printed[0] == "0 matching events"
    for host in AUDITED:
        assert run.host_line(host).endswith(": 0 matched, 0 returned")


def test_counts_added_up_over_the_masters_in_check_mode(reports, sent, merged):
    """format=counts: by user, verb, resource and code over every master; --check reads and writes the file alike."""
    run = reports["counts_check_mode"]
    assert run.rc == 0, run

    def resource(event):
        ref = event["objectRef"]
        label = ref["resource"] + ("/" + ref["subresource"] if ref.get("subresource") else "")
        return label + ("." + ref["apiGroup"] if ref.get("apiGroup") else "")

    expected = {
        "user": Counter(request["user"] for request in sent for _stage in range(2)),
        "verb": Counter(event["verb"] for event in merged),
        "resource": Counter(resource(event) for event in merged),
        "code": Counter(
            str(event["responseStatus"]["code"]) if "responseStatus" in event else "<none>" for event in merged
        ),
    }
    (written,) = run.read_jsonl("counts.json")
    assert written == expected
    for dimension, counts in written.items():  # highest first, then by name
        assert list(counts) == sorted(counts, key=lambda key, counts=counts: (-counts[key], key)), dimension
        assert f"COUNT  {dimension.upper()}" in run.printed
    # RequestReceived has no response yet
    assert expected["code"] == dict(
        Counter(str(request.get("status", 200)) for request in sent), **{"<none>": len(sent)}
    )
    assert expected["resource"]["nnfstorages.nnf.cray.hpe.com"] == 2 * sum("/nnfstorages" in r["path"] for r in sent)


def test_a_master_without_auditing_is_named_and_fails_the_play(reports, merged):
    """master-4 (kube_audit_hosts=kube_control_plane:new_masters) has no audit log: named, reported, play fails."""
    run = reports["unaudited"]
    assert run.rc != 0, run
    assert run.rows == table_rows(merged)  # the other masters are still reported
    assert run.host_line(UNAUDITED).startswith(
        f"{UNAUDITED}: FAILED: {UNAUDITED}: {AUDIT_LOG} does not exist: auditing looks disabled on this host"
    )
    assert f"Could not read the audit log of {UNAUDITED}; the report above holds the other nodes only." in run.output


def test_missing_ok_counts_a_master_without_a_log_as_read(reports, merged):
    """The same with kube_audit_report_missing_ok=true: master-4 is listed as having no log, and the play passes."""
    run = reports["unaudited_missing_ok"]
    assert run.rc == 0, run
    assert run.rows == table_rows(merged)
    assert run.host_line(UNAUDITED).startswith(f"{UNAUDITED}: NO LOG: {AUDIT_LOG} does not exist")


def test_every_readme_report_command_is_checked_here(readme):
    """A new audit_report example in the README needs a check in this scenario (README_RECIPES)."""
    shown = sorted(sorted(args[1::2]) for args in readme["commands"])
    assert shown == sorted(sorted(values) for values in README_RECIPES.values())
    assert README_USER_PATTERN in readme["spans"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_each_recipe_finds_exactly_the_requests_sent_for_it_on_the_master_that_served_them(reports, sent, recipe):
    run = reports[f"recipe_{recipe}"]
    assert run.rc == 0, run
    events = run.read_jsonl(f"recipe-{recipe}.jsonl")
    expected = sorted((item["host"], item["auditID"]) for item in sent if recipe in item.get("recipes", []))
    assert expected, f"side_effect sends nothing for {recipe}"
    assert sorted({(event["host"], event["auditID"]) for event in events}) == expected
    # both stages of each, nothing else; only the response carries a code, which is what denied looks at
    assert len(events) == (1 if recipe == "denied" else 2) * len(expected)
    # The installed policy (a catch-all) records what the recipe looks for: no note
    assert not [line for line in run.printed if NOT_RECORDED in line], run


def test_a_recipe_under_a_policy_that_does_not_record_it_says_so_for_each_master(reports):
    run = reports["nnf_policy"]
    assert run.rc == 0, run
    for host in AUDITED:
        note = next(line for line in run.printed if line.startswith(f"{host}: {NOT_RECORDED}"))
        assert "secret_access" in note and "/root/nnf-policy.yaml" in note


def test_one_audit_id_sent_to_two_masters_is_kept_on_both(reports, sent):
    assert [item["host"] for item in sent if item.get("duplicate")] == ["master-2", "master-3"]
    assert {item["auditID"] for item in sent if item.get("duplicate")} == {DUPLICATE_ID}  # the apiserver took it
    run = reports["duplicate"]
    assert run.rc == 0, run
    events = run.read_jsonl("duplicate.jsonl")
    assert sorted((event["host"], event["stage"]) for event in events) == [
        ("master-2", "RequestReceived"),
        ("master-2", "ResponseComplete"),
        ("master-3", "RequestReceived"),
        ("master-3", "ResponseComplete"),
    ]


def test_the_readme_exec_counts_example_counts_each_pod_subresource_by_user(reports, sent):
    run = readme_report(reports, "exec_counts")
    assert run.rc == 0, run
    title = run.printed.index("recipe exec, by user, resource, namespace, name:")
    rows = [line.split() for line in run.printed[title + 2 : run.printed.index("", title)]]
    exec_sent = [item for item in sent if "exec" in item.get("recipes", [])]
    assert len(rows) == len(exec_sent) == 2
    assert sorted(row[0] for row in rows) == ["2", "2"]  # two stages of each request
    assert {row[1] for row in rows} == {"jane"} and {row[4] for row in rows} == {"web-1"}
