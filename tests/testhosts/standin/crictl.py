"""crictl stand-in: the container runtime's view of the kubelet stand-in's containers, as crictl prints it.

The kubelet stand-in records every container it creates in ``containers.json`` in its state directory (the
runtime's container store); this answers from that record and the container logs it names, with crictl's JSON
shapes. Only what ``apiserver_process.crictl_diagnostics`` asks is stood in:

* ``crictl ps [--all|-a] [--name REGEX] --output json``: running containers (all with ``--all``) whose name
  matches REGEX anywhere (Go's ``regexp.MatchString``), newest first, with ``createdAt`` in nanoseconds as a
  string (protobuf JSON's int64);
* ``crictl inspect [--output json] ID...``: ``{"status": ..., "info": ...}`` per container, times in RFC 3339
  (crictl converts them), ``finishedAt`` of a running container the Unix epoch;
* ``crictl logs [--tail N] ID``: the log's content without the CRI prefix (timestamp, stream, tag), stdout lines
  on stdout and stderr lines on stderr, as crictl writes them.

An ID may be any unique prefix, as containerd allows. Anything else (another subcommand, flag or output format)
exits 1 with a crictl-like fatal message.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from typing import Dict, List, Optional, TextIO, Tuple

STATE_DIR = "/run/kubelet-standin"
STATE_DIR_VARIABLE = "CRICTL_STANDIN_STATE_DIR"  # where containers.json is (unit tests point it elsewhere)
CONTAINERS_FILE = "containers.json"
RUNNING, EXITED = "CONTAINER_RUNNING", "CONTAINER_EXITED"
_CRI_LINE = re.compile(r"^(?P<time>\S+) (?P<stream>stdout|stderr) (?P<tag>[FP]) (?P<content>.*)$", re.DOTALL)


class CrictlError(Exception):
    """What crictl reports as fatal (exit 1)."""


# --------------------------------------------------------------------------------------------------- store


def load_containers(state_dir: str) -> List[Dict]:
    path = os.path.join(state_dir, CONTAINERS_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("containers") or []
    except FileNotFoundError:
        return []  # no container was ever created: the runtime lists none
    except (OSError, ValueError) as exc:
        raise CrictlError(f"connect: reading the container store {path}: {exc}") from exc


def find_container(containers: List[Dict], container_id: str) -> Dict:
    matches = [record for record in containers if record["id"].startswith(container_id)] if container_id else []
    if len(matches) != 1:
        problem = "not found" if not matches else f"multiple ID's with prefix {container_id!r}"
        raise CrictlError(
            f'getting the status of the container "{container_id}": rpc error: code = NotFound desc = '
            f'an error occurred when try to find container "{container_id}": {problem}'
        )
    return matches[0]


def rfc3339_nano(nanoseconds: int) -> str:
    """Go's time.Unix(0, ns).UTC().Format(time.RFC3339Nano): trailing zeros of the fraction dropped."""
    seconds, fraction = divmod(int(nanoseconds), 1_000_000_000)
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


# --------------------------------------------------------------------------------------------------- JSON


def list_entry(record: Dict) -> Dict:
    """One container of ``crictl ps --output json`` (runtime.v1.Container in protobuf JSON)."""
    return {
        "id": record["id"],
        "podSandboxId": record["podSandboxId"],
        "metadata": {"name": record["name"], "attempt": record["attempt"]},
        "image": {"image": record["imageRef"], "annotations": {}, "userSpecifiedImage": "", "runtimeHandler": ""},
        "imageRef": record["imageRef"],
        "state": record["state"],
        "createdAt": str(record["createdAt"]),
        "labels": record["labels"],
        "annotations": record["annotations"],
    }


def inspect_entry(record: Dict) -> Dict:
    """``crictl inspect --output json`` of one container: the CRI ContainerStatus and the runtime's info."""
    return {
        "status": {
            "id": record["id"],
            "metadata": {"attempt": record["attempt"], "name": record["name"]},
            "state": record["state"],
            "createdAt": rfc3339_nano(record["createdAt"]),
            "startedAt": rfc3339_nano(record["startedAt"]),
            "finishedAt": rfc3339_nano(record["finishedAt"]),
            "exitCode": record["exitCode"],
            "image": {"annotations": {}, "image": record["image"], "userSpecifiedImage": "", "runtimeHandler": ""},
            "imageRef": record["imageRef"],
            "reason": record["reason"],
            "message": record["message"],
            "labels": record["labels"],
            "annotations": record["annotations"],
            "mounts": record["mounts"],
            "logPath": record["logPath"],
            "resources": None,
        },
        "info": {"sandboxID": record["podSandboxId"], "pid": record["pid"]},
    }


def log_records(path: str) -> List[Tuple[str, str, bool]]:
    """The CRI-format log as (stream, content, complete line) records; unparsable lines are skipped, as crictl does."""
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    records = []
    for line in text.split("\n"):
        match = _CRI_LINE.match(line)
        if match:
            records.append((match.group("stream"), match.group("content"), match.group("tag") == "F"))
    return records


# --------------------------------------------------------------------------------------------------- commands


def parse_options(args: List[str], valued: Dict[str, str], switches: Dict[str, str]) -> Tuple[Dict, List[str]]:
    """urfave/cli flags of one subcommand: ``--name VALUE``, ``--name=VALUE``, ``-n VALUE``; flags stop at ``--``."""
    options: Dict = {}
    positional: List[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, has_value, value = arg.lstrip("-").partition("=")
        if name in switches:
            if has_value and value not in ("true", "false"):
                raise CrictlError(f'invalid boolean value "{value}" for -{name}: parse error')
            options[switches[name]] = value != "false"
        elif name in valued:
            if not has_value:
                if index >= len(args):
                    raise CrictlError(f"flag needs an argument: -{name}")
                value = args[index]
                index += 1
            options[valued[name]] = value
        else:
            raise CrictlError(f"flag provided but not defined: -{name}")
    return options, positional


def require_json(options: Dict) -> None:
    output = options.get("output", "json")
    if output != "json":
        raise CrictlError(f'unsupported output format "{output}" (the crictl stand-in writes json only)')


def command_ps(args: List[str], state_dir: str, out: TextIO) -> None:
    options, positional = parse_options(
        args, {"name": "name", "output": "output", "o": "output"}, {"all": "all", "a": "all"}
    )
    if positional:
        raise CrictlError(f"unexpected arguments: {' '.join(positional)}")
    if "output" not in options:
        raise CrictlError("the crictl stand-in writes json only: add --output json")
    require_json(options)
    try:
        name = re.compile(options.get("name", ""))
    except re.error as exc:
        raise CrictlError(f"invalid --name regular expression: {exc}") from exc
    found = [
        record
        for record in load_containers(state_dir)
        if (options.get("all") or record["state"] == RUNNING) and name.search(record["name"])
    ]
    found.sort(key=lambda record: int(record["createdAt"]), reverse=True)  # crictl lists the newest first
    out.write(json.dumps({"containers": [list_entry(record) for record in found]}, indent=2) + "\n")


def command_inspect(args: List[str], state_dir: str, out: TextIO) -> None:
    options, positional = parse_options(args, {"output": "output", "o": "output"}, {})
    require_json(options)
    if not positional:
        raise CrictlError("ID cannot be empty")
    containers = load_containers(state_dir)
    for container_id in positional:
        out.write(json.dumps(inspect_entry(find_container(containers, container_id)), indent=2) + "\n")


def command_logs(args: List[str], state_dir: str, out: TextIO, err: TextIO) -> None:
    options, positional = parse_options(args, {"tail": "tail"}, {})
    if len(positional) != 1:
        raise CrictlError("ID cannot be empty" if not positional else "only one ID is allowed")
    try:
        tail = int(options.get("tail", "-1"))
    except ValueError as exc:
        raise CrictlError(f'invalid value "{options["tail"]}" for flag -tail: parse error') from exc
    record = find_container(load_containers(state_dir), positional[0])
    try:
        records = log_records(record["logPath"])
    except OSError as exc:
        raise CrictlError(f'failed to open log file "{record["logPath"]}": {exc}') from exc
    if tail >= 0:
        records = records[len(records) - tail :] if tail else []
    for stream, content, complete in records:
        (out if stream == "stdout" else err).write(content + ("\n" if complete else ""))


def main(argv: Optional[List[str]] = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = sys.argv[1:] if argv is None else argv
    state_dir = os.environ.get(STATE_DIR_VARIABLE) or STATE_DIR
    try:
        if not args:
            raise CrictlError("no command given (the crictl stand-in knows ps, inspect and logs)")
        command, rest = args[0], args[1:]
        if command == "ps":
            command_ps(rest, state_dir, out)
        elif command == "inspect":
            command_inspect(rest, state_dir, out)
        elif command == "logs":
            command_logs(rest, state_dir, out, err)
        elif command.startswith("-"):
            raise CrictlError(f"flag provided but not defined: -{command.lstrip('-')}")
        else:
            raise CrictlError(f"No help topic for '{command}'")
    except CrictlError as exc:
        stamp = datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        err.write(f"time={json.dumps(stamp)} level=fatal msg={json.dumps(str(exc))}\n")
        return 1
    return 0
