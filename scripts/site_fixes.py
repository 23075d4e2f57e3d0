"""Sphinx extension with small fixes to the HTML that Jupyter Book 1.0.4 / Sphinx 7.4 writes.

Loaded through ``sphinx.local_extensions`` in ``_config.yml``; the browser test
(``tests/test_site.py``) fails without it.

- **Duplicate inline scripts.** sphinx-thebe and sphinx-togglebutton register inline
  ``<script>`` blocks with ``app.add_js_file(None, body=...)``. Sphinx 7.4 keeps one copy
  registered as ``None`` and one as ``''``, which it does not recognise as the same script, so
  every page declares ``const THEBE_JS_URL`` twice and the browser raises
  "SyntaxError: Identifier 'THEBE_JS_URL' has already been declared". We drop the repeats.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        key = (getattr(js, "filename", js) or "", tuple(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    # Run after every other handler of the event (sphinx.ext.mathjax adds its script at 500).
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
