"""Every picture the tool draws; the only package that imports matplotlib."""
