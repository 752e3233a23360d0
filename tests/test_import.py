import subprocess
import sys


def test_import_kernforge_loads_neither_tvm_nor_torch():
    code = "import kernforge, sys; assert 'tvm' not in sys.modules and 'torch' not in sys.modules, sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_exist():
    import kernforge

    assert callable(kernforge.ir.parse_module) and callable(kernforge.ir.interpret)
