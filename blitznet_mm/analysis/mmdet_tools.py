"""mmdet's analysis tools loaded as modules, to reuse their functions rather
than copy them (``tools/analysis/confusion_matrix.py``,
``tools/analysis/analyze_results.py``)."""
import importlib.util
import os.path as osp


def load_mmdet_tool(name: str):
    """Imports one of mmdet's analysis tools (``tools/analysis_tools/
    <name>.py``, shipped under ``mmdet/.mim``) as a module.

    Raises:
        FileNotFoundError: mmdet is installed without its tools (an
            editable install keeps them in its checkout's tools/).
    """
    import mmdet
    base = osp.dirname(mmdet.__file__)
    for root in (osp.join(base, '.mim'), osp.dirname(base)):
        path = osp.join(root, 'tools', 'analysis_tools', name + '.py')
        if osp.isfile(path):
            spec = importlib.util.spec_from_file_location(
                f'mmdet_tools_{name}', path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise FileNotFoundError(f'mmdet tool {name}.py not found under {base}')
