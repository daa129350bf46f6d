"""The code tool's runner: runs inside the sandbox, before and around the model's code.

Podium never imports this module: :mod:`podium.tools.code` reads its source and
passes it to ``python -I -S -c``, with one JSON argument. It uses the standard
library only, since the sandbox holds nothing else. In order, it:

1. sets the resource limits (address space, CPU seconds, file size, processes, no
   core files) as hard limits, so the code cannot raise them;
2. drops to an unprivileged uid when it starts as root (the sandbox's processes
   must not be root: the kernel exempts root from the process limit);
3. reads the code from stdin, then points stdin at ``/dev/null``;
4. runs the code as ``__main__``; when the last statement is an expression it is
   evaluated apart and its ``repr`` reported, as in a REPL;
5. prints a traceback of the code's own frames (none of the runner's) on an error,
   and writes ``{"status", "value"}`` as JSON to the result pipe.
"""

import json
import os
import resource
import sys


def _count_own_tasks(uid):
    """Count the tasks (threads count) that ``uid`` runs now; RLIMIT_NPROC counts them."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return total


def _set_limits(limits, fresh_count):
    def hard(kind, value, soft=None):
        resource.setrlimit(kind, (value if soft is None else soft, value))

    hard(resource.RLIMIT_AS, limits["memory_bytes"])
    hard(resource.RLIMIT_CPU, limits["cpu_s"] + 1, soft=limits["cpu_s"])
    hard(resource.RLIMIT_FSIZE, limits["file_bytes"])
    hard(resource.RLIMIT_CORE, 0)
    processes = limits["processes"]
    if not fresh_count:
        # The uid is shared with the caller's other processes: allow that many more.
        processes += _count_own_tasks(os.getuid())
    hard(resource.RLIMIT_NPROC, processes)


def _drop_privileges(uid, gid):
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("podium code runner: could not drop root privileges")


def _run(code, result, max_value_chars):
    import ast
    import builtins
    import linecache
    import traceback
    import types

    filename = "<code>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    # Without the site module (python -S) these two are missing; code often calls them.
    builtins.exit = builtins.quit = sys.exit
    # A module of its own, so that pickling the code's classes finds them in __main__.
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    namespace = module.__dict__
    status, value = 0, None
    try:
        tree = ast.parse(code, filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            obj = eval(compile(last, filename, "eval"), namespace)
            if obj is not None:
                value = repr(obj)
    except SystemExit as exc:
        if exc.code is None:
            status = 0
        elif isinstance(exc.code, int):
            status = exc.code
        else:
            print(exc.code, file=sys.stderr)
            status = 1
    except BaseException as exc:  # noqa: BLE001 - every error of the code is reported
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    limit = max_value_chars
    report = {"status": status, "value": value, "value_truncated": False}
    if value is not None and len(value) > limit:
        report.update(value=value[:limit], value_truncated=True)
    try:
        result.write(json.dumps(report))
        result.close()
    except (OSError, ValueError):
        pass
    return status


def main():
    """Set limits, drop privileges, read the code and run it; exit with its status."""
    config = json.loads(sys.argv[1])
    sys.argv = ["<code>"]
    result_fd = config["result_fd"]
    os.set_inheritable(result_fd, False)
    result = os.fdopen(result_fd, "w", encoding="utf-8")
    drop = config.get("uid") is not None and os.getuid() == 0
    _set_limits(config["limits"], fresh_count=drop or config["fresh_user_namespace"])
    if drop:
        _drop_privileges(config["uid"], config["gid"])
    # After the drop: the work directory belongs to the unprivileged uid alone.
    os.chdir(config["workdir"])
    os.environ["PWD"] = config["workdir"]
    sys.path.extend(config["paths"])
    code = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return _run(code, result, config["max_value_chars"])


if __name__ == "__main__":
    sys.exit(main())
