"""The probing cell of tests/test_grade_isolation.py: it records what its kernel can reach in plain variables, which
the tests read back.

It is not written into this folder (tests/test_grade.py grades every notebook here against chapter 1): the tests
fill in the paths and port of their run. The hostile class graded in every mode is class_attacks.py's.
"""

# What the kernel can reach: the network, the namespaces, shared folders, the grader's files, the Python environment.
PROBE = """
import errno, json, os, socket, sys

def attempt(action):
    try:
        return action()
    except OSError as error:
        return type(error).__name__

def connect():
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    return "connected"

def write_into(folder):
    path = os.path.join(folder, "written-by-the-kernel")
    with open(path, "w") as handle:
        handle.write("x")
    os.unlink(path)
    return "written"

interfaces = sorted(name for _, name in socket.if_nameindex())
tcp = attempt(connect)
namespaces = {{kind: os.readlink(f"/proc/self/ns/{{kind}}") for kind in ("net", "ipc", "mnt", "pid", "uts")}}
markers = {{path: os.path.exists(path) for path in {markers!r}}}
grader_files = {{path: attempt(lambda: sorted(os.listdir(path))) for path in {grader_files!r}}}
import cnnbook, numpy
python_dirs = {{os.path.dirname(module.__file__) for module in (os, numpy, cnnbook)}} | {{sys.prefix}}
python_writes = {{path: attempt(lambda: write_into(path)) for path in python_dirs}}
own_writes = {{path: attempt(lambda: write_into(path)) for path in (os.getcwd(), "/tmp", "/var/tmp", "/dev/shm")}}
"""


def probe_cells(port: int, markers: list[str], grader_files: list[str]) -> list[str]:
    """The cells of a notebook that records what its kernel can reach."""
    return [PROBE.format(port=port, markers=markers, grader_files=grader_files)]
