"""The satisfaction survey's two forms (R-8).

By default ("short") one required overall rating from 1 (very dissatisfied) to 5 (very
satisfied), two optional ratings (how easy the service was to use online, how quickly the
request was completed) and an optional comment. An agency may choose instead the "extended"
form of its CRM policy, seed 002's نموذج قياس رضا العملاء: eleven statements rated
1 (strongly disagree) to 5 (strongly agree), and a suggestion."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    """Which form an agency uses and an answer followed."""

    SHORT = "short", _("Short: one overall rating, details optional")
    EXTENDED = "extended", _("Extended: the eleven statements of the CRM policy")


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

# The short form.
OVERALL_SCALE = [
    (1, _("Very dissatisfied")),
    (2, _("Dissatisfied")),
    (3, _("Neither satisfied nor dissatisfied")),
    (4, _("Satisfied")),
    (5, _("Very satisfied")),
]
EASE_SCALE = [
    (1, _("Very difficult")),
    (2, _("Difficult")),
    (3, _("Neither easy nor difficult")),
    (4, _("Easy")),
    (5, _("Very easy")),
]
SPEED_SCALE = [
    (1, _("Very slow")),
    (2, _("Slow")),
    (3, _("Acceptable")),
    (4, _("Quick")),
    (5, _("Very quick")),
]
RATINGS = (1, 2, 3, 4, 5)
