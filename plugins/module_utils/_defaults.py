# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Default paths and names on a kubeadm control-plane node, and the audit names of Kubernetes: defined here once."""

MANIFEST_PATH = "/etc/kubernetes/manifests/kube-apiserver.yaml"
MANIFESTS_DIR = "/etc/kubernetes/manifests"
CONTAINER = "kube-apiserver"
BACKUP_DIR = "/etc/kubernetes/backup"
# Stray manifests go to this directory inside the backup directory: one place to look for everything set aside.
STRAY_SUBDIR = "stray-manifests"
POLICY_FILE = "/etc/kubernetes/policies/audit-policy.yaml"
LOG_PATH = "/var/log/kubernetes/kube-apiserver-audit.log"
# kube-apiserver's --audit-log-path value for standard output (the container log).
LOG_TO_STDOUT = "-"
# kubeadm's cluster-admin kubeconfig (written on every control-plane node by kubeadm init and join --control-plane).
KUBECONFIG_PATH = "/etc/kubernetes/admin.conf"

# k8s.io/apiserver/pkg/apis/audit: the stages of a request, and the levels (an event is never logged at None).
AUDIT_STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
AUDIT_LEVELS = ("None", "Metadata", "Request", "RequestResponse")
