"""Arabic formats: Django's, with the Arabic decimal and thousands separators.

Django's ``ar`` locale writes 61.1 as "61,1" (a European decimal comma, read as a thousands
separator by Arabic readers). Arabic typography has its own marks: U+066B ARABIC DECIMAL
SEPARATOR "٫" and U+066C ARABIC THOUSANDS SEPARATOR "٬". Digits stay Latin (0-9), as on every
page of the project and in Saudi government services; only the marks change.
"""

from django.conf.locale.ar.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "\u066b"
THOUSAND_SEPARATOR = "\u066c"
# Groups of three when grouping is asked for (intcomma, floatformat's "g"): "12٬345٫5".
NUMBER_GROUPING = 3
