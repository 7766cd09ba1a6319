"""Pure logic of the test masters' kubelet and kube-apiserver stand-ins (no I/O beyond what each function names).

The executables around it are ``tests/testhosts/bin/kube-apiserver`` and ``tests/testhosts/kubelet.py``;
``tests/README.md`` says what is real and what is stood in.
"""
