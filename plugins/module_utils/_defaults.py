# Copyright: (c) 2026, NNF kube_audit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Default paths and names on a kubeadm control-plane node: defined here once, used by every module."""

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
