"""ConVirt image templates: an image directory's ``vm_conf.template``, ``image.conf`` and scripts, read, checked and rendered.

Modules, each pure (text in, findings and models out; nothing in a template is ever run):

* :mod:`~nfvo.domain.convirt.expressions` -- literal values and computed expressions, by walking the syntax tree;
* :mod:`~nfvo.domain.convirt.config` -- one python-syntax config file into a :class:`~nfvo.domain.convirt.model.ConfigFile`;
* :mod:`~nfvo.domain.convirt.template` -- ``$NAME`` / ``${NAME}`` variables (``string.Template`` rules): found, checked, filled;
* :mod:`~nfvo.domain.convirt.package` -- the image directory of a tar (or of a mapping of texts) into a
  :class:`~nfvo.domain.convirt.model.ConvirtTemplate`;
* :mod:`~nfvo.domain.convirt.deployment` -- what nfvo deploys of it: disk image files, VM size, version;
* :mod:`~nfvo.domain.convirt.render` -- a VM's ``vm_conf`` and ``image.conf`` from a template and a payload.

Every reader reports every problem at once as :class:`nfvo.errors.Issue` (ERROR or WARNING) with
the file, line and, for a variable, the column in the message.
"""

from nfvo.domain.convirt.config import MAX_CONFIG_CHARS, parse_config
from nfvo.domain.convirt.model import (
    DEFAULT_IMAGE_STORE,
    PREDEFINED,
    ConfigFile,
    ConvirtTemplate,
    DiskImage,
    Option,
    Use,
    VmSize,
)
from nfvo.domain.convirt.package import TemplateFiles, TemplateSource, convirt_kind, read_files, read_template
from nfvo.domain.convirt.render import RenderedTemplate, render

__all__ = ["DEFAULT_IMAGE_STORE", "MAX_CONFIG_CHARS", "PREDEFINED", "ConfigFile", "ConvirtTemplate", "DiskImage",
           "Option", "RenderedTemplate", "TemplateFiles", "TemplateSource", "Use", "VmSize", "convirt_kind",
           "parse_config", "read_files", "read_template", "render"]
