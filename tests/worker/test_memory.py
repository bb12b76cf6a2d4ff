"""release_free_memory trims glibc's heap (and says so); elsewhere it only collects garbage."""

import platform

from app.worker.memory import release_free_memory


def test_release_free_memory_reports_whether_it_could_trim():
    blocks = [bytearray(64 * 1024) for _ in range(200)]  # heap blocks below the mmap threshold
    del blocks
    assert release_free_memory() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
