"""Types into the aspirekv REPL through a pseudo-terminal, as a person would, and prints what the terminal showed.

    repl_pty.py DOTNET CLI_DLL LINE [LINE ...]

Each LINE is typed once the REPL waits for keys again; "<UP>" in a line is the Up arrow key. EXIT
is typed at the end.
"""
import os
import pty
import select
import sys
import time

dotnet, cli, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(dotnet, [dotnet, cli, "repl"])

seen = b""


def read_until(done, patience=60):
    """Reads what the terminal shows until done(seconds it has been quiet) is true."""
    global seen
    deadline = time.time() + patience
    last = time.time()
    while time.time() < deadline and not done(time.time() - last):
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                return
            last = time.time()


def settle(quiet=0.5):
    """Reads until the terminal has been quiet for a moment: the REPL is waiting for keys."""
    read_until(lambda idle: idle >= quiet)


def wait_for(text):
    """Reads until the terminal has shown `text`."""
    read_until(lambda idle: text in seen)


wait_for(b"EXIT to leave")  # the greeting: the REPL has started
settle()
for line in lines + ["EXIT"]:
    for part in line.split("<UP>")[:-1]:
        os.write(fd, part.encode() + b"\x1b[A")
        settle()
    os.write(fd, line.split("<UP>")[-1].encode() + b"\r")
    settle()

_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
