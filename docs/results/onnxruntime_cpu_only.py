"""What onnxruntime-gpu costs on a CPU-only machine, and does the CPU-only runtime work instead?

Run from the repository root (needs network access to the package index; a few minutes)::

    python docs/results/onnxruntime_cpu_only.py > docs/results/onnxruntime_cpu_only.txt

1. Downloads both wheels of the installed onnxruntime version (no dependencies) and reports the
   download size and the unpacked size of each.
2. In a fresh virtual environment, installs this repository as the README's first command does,
   swaps onnxruntime-gpu for onnxruntime with the README's command, runs ``turbml demo`` and
   prints the providers and the demo's exit status.
"""

import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def _run(command, **options):
    print("$ " + " ".join(map(str, command)), flush=True)
    completed = subprocess.run(command, capture_output=True, text=True, **options)
    return completed


def _wheel_sizes(package, release, folder):
    completed = _run([sys.executable, "-m", "pip", "download", f"{package}=={release}",
                      "--no-deps", "-d", str(folder)])
    if completed.returncode:
        print(completed.stderr[-2000:])
        return None
    wheel = next(Path(folder).glob(f"{package.replace('-', '_')}-{release}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    return wheel.name, wheel.stat().st_size, unpacked


def main():
    release = version("onnxruntime-gpu")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        print(f"onnxruntime release {release}\n")
        for package in ("onnxruntime-gpu", "onnxruntime"):
            sizes = _wheel_sizes(package, release, scratch / package)
            if sizes:
                name, download, unpacked = sizes
                print(f"{package:16s} {name}: download {download / 2**20:.1f} MiB, "
                      f"installed {unpacked / 2**20:.1f} MiB\n")
        environment = scratch / "venv"
        python = environment / "bin" / "python"
        steps = [
            [sys.executable, "-m", "venv", str(environment)],
            [python, "-m", "pip", "install", "-q", "-e", str(REPOSITORY)],
            # the README's CPU-only swap: never both packages at once (they share one module)
            [python, "-m", "pip", "uninstall", "-q", "-y", "onnxruntime-gpu"],
            [python, "-m", "pip", "install", "-q", f"onnxruntime=={release}"],
            [python, "-c", "import onnxruntime; print('providers:', "
                           "onnxruntime.get_available_providers())"],
            [environment / "bin" / "turbml", "demo", "--out", str(scratch / "demo")],
            [python, "-m", "pip", "list", "--format=freeze"],
        ]
        for step in steps:
            completed = _run(step, cwd=scratch)
            output = completed.stdout.strip()
            if step[-1] == "--format=freeze":
                output = "\n".join(line for line in output.splitlines()
                                   if line.lower().startswith("onnxruntime"))
            print(output[-3000:])
            if completed.stderr.strip():
                print("stderr:", completed.stderr.strip()[-1500:])
            print(f"exit status {completed.returncode}\n", flush=True)
            if completed.returncode:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
