"""The satisfaction form of seed 002 (نموذج قياس رضا العملاء): eleven statements rated
1 (strongly disagree) to 5 (strongly agree), and a suggestion."""

from django.utils.translation import gettext_lazy as _

STATEMENTS = [
    _("Overall, I am satisfied with the service I received."),
    _("I feel the service achieved the benefit I expected from it."),
    _("I believe the place where the service was provided is of high quality."),
    _("The service was carried out and organised efficiently."),
    _("I believe the set appointments and deadlines were kept."),
    _("The employee who served me was highly competent."),
    _("I look forward to receiving more services in the future."),
    _("I will recommend the agency's services to people I know."),
    _("I believe the way the service was announced was effective."),
    _("The service matched my expectations and aspirations."),
    _("I believe the fees (if any) are nominal and affordable for everyone."),
]
SCALE = [
    (1, _("Strongly disagree")),
    (2, _("Disagree")),
    (3, _("Somewhat agree")),
    (4, _("Agree")),
    (5, _("Strongly agree")),
]
