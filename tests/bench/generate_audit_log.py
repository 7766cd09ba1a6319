# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a realistic kube-apiserver audit log (audit.k8s.io/v1 JSON lines) of a given size.

The events look like what an NNF cluster's apiserver writes with the seed's policies: mostly ``Metadata``
level events of the NNF operators, kubelets, controllers and admins, with a few ``Request`` and
``RequestResponse`` events carrying objects, and a small share (SUBRESOURCE_SHARE) of an admin's ``kubectl exec``,
``attach``, ``port-forward`` and API server proxy requests (pods/exec, pods/attach, pods/portforward, pods/proxy,
services/proxy, nodes/proxy), drawn from a random stream of their own so the other events do not depend on them.
Keys are in the apiserver's order and strings are escaped the way Go's encoding/json escapes them (``&``, ``<``,
``>`` as ``\\u0026``...), so ``requestURI`` query strings and RBAC reasons exercise the same escapes as a real log.

Usage: ``python tests/bench/generate_audit_log.py OUT --size 100M [--seed 1] [--start 2026-11-20T00:00:00Z]``.
"""

import argparse
import datetime
import json
import os
import random
import sys
import uuid

_NNF_RESOURCES = [
    ("nnf.cray.hpe.com", "v1alpha2", "nnfnodestorages", True),
    ("nnf.cray.hpe.com", "v1alpha2", "nnfnodeblockstorages", True),
    ("nnf.cray.hpe.com", "v1alpha2", "nnfnodes", True),
    ("nnf.cray.hpe.com", "v1alpha2", "nnfstorages", True),
    ("nnf.cray.hpe.com", "v1alpha2", "nnfaccesses", True),
    ("nnf.cray.hpe.com", "v1alpha2", "nnfdatamovements", True),
    ("lus.cray.hpe.com", "v1beta1", "lustrefilesystems", True),
    ("dataworkflowservices.github.io", "v1alpha2", "workflows", True),
    ("dataworkflowservices.github.io", "v1alpha2", "clientmounts", True),
    ("dataworkflowservices.github.io", "v1alpha2", "computes", True),
    ("dataworkflowservices.github.io", "v1alpha2", "servers", True),
    ("dataworkflowservices.github.io", "v1alpha2", "storages", True),
    ("dataworkflowservices.github.io", "v1alpha2", "directivebreakdowns", True),
    ("dm.cray.hpe.com", "v1alpha1", "datamovementmanagers", True),
    ("", "v1", "pods", True),
    ("", "v1", "configmaps", True),
    ("", "v1", "secrets", True),
    ("", "v1", "events", True),
    ("", "v1", "nodes", False),
    ("coordination.k8s.io", "v1", "leases", True),
]

_NODES = [f"rabbit-node-{n}" for n in range(1, 9)] + [f"compute-{n:02d}" for n in range(1, 33)]

_SERVICE_ACCOUNTS = [
    ("nnf-system", "nnf-clientmount", "nnf-clientmount-role"),
    ("nnf-system", "nnf-controller-manager", "nnf-manager-role"),
    ("nnf-system", "nnf-node-manager", "nnf-node-manager-role"),
    ("nnf-dm-system", "nnf-dm-controller-manager", "nnf-dm-manager-role"),
    ("dws-system", "dws-controller-manager", "dws-manager-role"),
    ("lustre-csi-system", "lustre-csi-controller", "lustre-csi-role"),
]

# Requests through the API server into pods, services and nodes: (resource, subresource, query or path suffix).
_SUBRESOURCE_REQUESTS = [
    ("pods", "exec", "?command=sh&command=-c&command=cat+%2Fetc%2Fnnf%2Fconfig&container={c}&stdin=true&stdout=true"),
    ("pods", "exec", "?command=lctl&command=dl&container={c}&stderr=true&stdout=true"),
    ("pods", "attach", "?container={c}&stdin=true&stdout=true&tty=true"),
    ("pods", "portforward", ""),
    ("pods", "proxy", "/metrics"),
    ("services", "proxy", "/healthz"),
    ("nodes", "proxy", "/metrics/cadvisor"),
]
# About one event in 400 is one of those (kubectl exec and friends are rare next to the operators' traffic).
SUBRESOURCE_SHARE = 0.0025

_VERBS = ["get"] * 30 + ["list"] * 8 + ["watch"] * 6 + ["update"] * 12 + ["patch"] * 8 + ["create"] * 4 + ["delete"]


def go_json(obj):
    """Serialize like Go's encoding/json: compact, raw UTF-8, HTML characters escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    # These characters only ever occur inside JSON strings, so a plain replace is exact.
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def micro_time(moment):
    """Format like metav1.MicroTime: UTC, six fractional digits, 'Z'."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class EventFactory:
    """Builds audit.k8s.io/v1 events in the apiserver's key order."""

    def __init__(self, seed=1, start=None):
        self.random = random.Random(seed)
        self.rare = random.Random(f"{seed}/subresources")  # the rare events' own stream
        self.clock = start or datetime.datetime(2026, 11, 20, tzinfo=datetime.timezone.utc)

    def _uuid(self):
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def _user(self):
        pick = self.random.random()
        rnd = self.random
        if pick < 0.55:
            namespace, name, role = rnd.choice(_SERVICE_ACCOUNTS)
            node = rnd.choice(_NODES)
            pod = "{}-{}".format(name, "".join(rnd.choice("bcdfghjklmnpqrstvwxz2456789") for _letter in range(5)))
            user = {
                "username": f"system:serviceaccount:{namespace}:{name}",
                "uid": self._uuid(),
                "groups": ["system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"],
                "extra": {
                    "authentication.kubernetes.io/credential-id": ["JTI=" + self._uuid()],
                    "authentication.kubernetes.io/node-name": [node],
                    "authentication.kubernetes.io/node-uid": [self._uuid()],
                    "authentication.kubernetes.io/pod-name": [pod],
                    "authentication.kubernetes.io/pod-uid": [self._uuid()],
                },
            }
            reason = (
                f'RBAC: allowed by ClusterRoleBinding "{role}-binding" of ClusterRole "{role}" '
                f'to ServiceAccount "{name}/{namespace}"'
            )
            agent = f"{name}/v0.1.{rnd.randint(0, 15)} (linux/amd64) kubernetes/$Format"
            return user, reason, agent
        if pick < 0.75:
            node = rnd.choice(_NODES)
            user = {
                "username": "system:node:" + node,
                "groups": ["system:nodes", "system:authenticated"],
            }
            return user, "", "kubelet/v1.29.3 (linux/amd64) kubernetes/6813625"
        if pick < 0.95:
            component = rnd.choice(["kube-controller-manager", "kube-scheduler"])
            user = {"username": "system:" + component, "groups": ["system:authenticated"]}
            reason = (
                f'RBAC: allowed by ClusterRoleBinding "system:{component}" of ClusterRole "system:{component}" '
                f'to User "system:{component}"'
            )
            return user, reason, f"{component}/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election"
        user = {
            "username": "kubernetes-admin",
            "groups": ["kubeadm:cluster-admins", "system:authenticated"],
        }
        return (
            user,
            'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" '
            'to Group "kubeadm:cluster-admins"',
            "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625",
        )

    def subresource_event(self):
        """An admin's request through the API server: kubectl exec, attach, port-forward, or a proxy."""
        rnd = self.rare
        resource, subresource, suffix = rnd.choice(_SUBRESOURCE_REQUESTS)
        container = rnd.choice(["manager", "nnf-node-manager", "lustre-csi"])
        namespace = rnd.choice(["nnf-system", "nnf-dm-system", "default"]) if resource != "nodes" else ""
        if resource == "pods":
            name = f"{container}-{rnd.randint(0, 99)}"
        elif resource == "services":
            name = rnd.choice(["https:nnf-controller-manager-metrics:8443", "nnf-dm-webhook:443"])
        else:
            name = rnd.choice(_NODES)
        uri = "/api/v1" + ("/namespaces/" + namespace if namespace else "") + f"/{resource}/{name}/{subresource}"
        uri += suffix.format(c=container)
        streaming = subresource in ("exec", "attach", "portforward")
        # kubectl before 1.30 POSTs (create), 1.30+ opens a WebSocket with GET; both are upgraded (101).
        verb = rnd.choice(["create", "get"]) if streaming else "get"
        code = 101 if streaming else rnd.choice([200, 200, 200, 503])
        self.clock += datetime.timedelta(microseconds=rnd.randint(200, 4000))
        received = self.clock
        finished = received + datetime.timedelta(microseconds=rnd.randint(300, 40000))
        object_ref = {"resource": resource}
        if namespace:
            object_ref["namespace"] = namespace
        object_ref.update(name=name, apiVersion="v1", subresource=subresource)
        return {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "stage": "ResponseStarted" if streaming else "ResponseComplete",
            "requestURI": uri,
            "verb": verb,
            "user": {"username": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", "system:authenticated"]},
            "sourceIPs": [f"10.30.1.{rnd.randint(2, 250)}"],
            "userAgent": "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625",
            "objectRef": object_ref,
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": micro_time(received),
            "stageTimestamp": micro_time(finished),
            "annotations": {
                "authorization.k8s.io/decision": "allow",
                "authorization.k8s.io/reason": 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of '
                'ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
            },
        }

    def event(self):
        if self.rare.random() < SUBRESOURCE_SHARE:
            return self.subresource_event()
        rnd = self.random
        user, reason, agent = self._user()
        group, version, resource, namespaced = rnd.choice(_NNF_RESOURCES)
        verb = rnd.choice(_VERBS)
        namespace = rnd.choice([*_NODES[:8], "default", "nnf-system", "kube-system"]) if namespaced else ""
        name = ""
        if verb not in ("list", "watch", "create"):
            name = f"{resource.rstrip('s')}-{rnd.randint(0, 400)}"
        base = "/api/v1" if not group else f"/apis/{group}/{version}"
        uri = base + ("/namespaces/" + namespace if namespace else "") + "/" + resource + ("/" + name if name else "")
        subresource = ""
        if verb in ("update", "patch") and rnd.random() < 0.4 and resource not in ("events", "leases", "secrets"):
            subresource = "status"
            uri += "/status"
        if verb == "list":
            uri += "?limit=500&resourceVersion=0"
        elif verb == "watch":
            resource_version, minutes, seconds = rnd.randint(10**6, 10**8), rnd.randint(0, 59), rnd.randint(300, 600)
            uri += (
                f"?allowWatchBookmarks=true&resourceVersion={resource_version}&timeout=7m{minutes}s"
                f"&timeoutSeconds={seconds}&watch=true"
            )
        stage = "ResponseStarted" if verb == "watch" and rnd.random() < 0.5 else "ResponseComplete"
        code = {"create": 201}.get(verb, 200)
        failure = rnd.random()
        status = {"metadata": {}}
        if verb in ("get", "delete") and failure < 0.03:
            code = 404
            status.update(
                status="Failure",
                message=f'{resource}.{group} "{name}" not found' if group else f'{resource} "{name}" not found',
                reason="NotFound",
                details={"name": name, "group": group, "kind": resource} if group else {"name": name, "kind": resource},
            )
        elif verb in ("update", "patch") and failure < 0.05:
            code = 409
            status.update(
                status="Failure",
                message=f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
                "please apply your changes to the latest version and try again",
                reason="Conflict",
                details={"name": name, "group": group, "kind": resource},
            )
        status["code"] = code

        self.clock += datetime.timedelta(microseconds=rnd.randint(200, 4000))
        received = self.clock
        finished = received + datetime.timedelta(microseconds=rnd.randint(300, 40000))
        level = "Metadata"
        if verb in ("create", "update", "patch") and rnd.random() < 0.06:
            level = "Request" if rnd.random() < 0.5 else "RequestResponse"

        event = {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": level,
            "auditID": self._uuid(),
            "stage": stage,
            "requestURI": uri,
            "verb": verb,
            "user": user,
            "sourceIPs": [f"10.30.{rnd.randint(100, 110)}.{rnd.randint(2, 250)}"],
            "userAgent": agent,
        }
        object_ref = {"resource": resource}
        if namespace:
            object_ref["namespace"] = namespace
        if name:
            object_ref["name"] = name
        if group:
            object_ref["apiGroup"] = group
        object_ref["apiVersion"] = version
        if subresource:
            object_ref["subresource"] = subresource
        event["objectRef"] = object_ref
        if stage != "RequestReceived":
            event["responseStatus"] = status
        if level != "Metadata":
            body = {
                "kind": resource[:-1].capitalize(),
                "apiVersion": (group + "/" if group else "") + version,
                "metadata": {
                    "name": name or f"new-{rnd.randint(0, 10**6)}",
                    "namespace": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "nnf", "nnf.cray.hpe.com/owner": "default-storage"},
                },
                "spec": {"capacity": rnd.randint(1, 10**12), "fileSystemType": "lustre", "targets": list(_NODES[:4])},
            }
            event["requestObject"] = body
            if level == "RequestResponse":
                event["responseObject"] = dict(body, status={"ready": True, "message": "<none> & ok"})
        event["requestReceivedTimestamp"] = micro_time(received)
        event["stageTimestamp"] = micro_time(finished)
        annotations = {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": reason}
        if resource == "pods" and verb == "create":
            annotations["pod-security.kubernetes.io/enforce-policy"] = "privileged:latest"
        event["annotations"] = annotations
        return event


def parse_size(text):
    """'1G', '500M', '64k' or a byte count."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def write_log(path, size, seed=1, start=None, sample_every=50000):
    """Write events to ``path`` until it holds at least ``size`` bytes.

    Returns ``{"events": N, "bytes": B, "sample_ids": [...]}``: one auditID every ``sample_every`` events, so
    a benchmark can look up events spread over the whole file without reading it again.
    """
    factory = EventFactory(seed=seed, start=start)
    written = 0
    count = 0
    sample_ids = []
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8", newline="\n") as out:
        chunk = []
        while written < size:
            event = factory.event()
            line = go_json(event) + "\n"
            chunk.append(line)
            written += len(line.encode("utf-8")) if not line.isascii() else len(line)
            if count % sample_every == sample_every // 2:
                sample_ids.append(event["auditID"])
            count += 1
            if len(chunk) >= 2000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    os.replace(partial, path)
    return {"events": count, "bytes": written, "sample_ids": sample_ids}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="file to write (replaced if it exists)")
    parser.add_argument("--size", default="100M", help="at least this many bytes: 1G, 250M, 64k (default 100M)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", help="RFC 3339 time of the first event (default 2026-11-20T00:00:00Z)")
    args = parser.parse_args(argv)
    start = None
    if args.start:
        start = datetime.datetime.strptime(args.start.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    info = write_log(args.out, parse_size(args.size), seed=args.seed, start=start)
    print(f"wrote {info['events']} events, {info['bytes']} bytes to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
