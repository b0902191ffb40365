"""Back office: campaigns (script, contacts upload, texters, start, results), tags, opt-outs and imports.

Every campaigns page is registered here, so the admin's autodiscovery of `campaigns.admin` finds
them all. The modules:

- `campaign.py`: the campaign list and change form, with its form and inlines;
- `pages.py`: the campaign's other pages (upload, assign texters, start, archive, results);
- `optouts.py`: opt-outs and their audit trail; `tags.py`; `import_jobs.py`;
- `lookups.py`: scoped list-filter choices and phone-number search, shared with texting's admin.

`texting/admin.py` re-registers `Campaign` with a subclass of `CampaignAdmin` that adds message counts.
"""

from __future__ import annotations

from django.contrib import admin

from campaigns.admin.campaign import CampaignAdmin
from campaigns.admin.import_jobs import ImportJobAdmin
from campaigns.admin.optouts import OptOutAdmin, OptOutEventAdmin
from campaigns.admin.tags import TagAdmin
from campaigns.models import Campaign, ImportJob, OptOut, OptOutEvent, Tag

admin.site.register(Campaign, CampaignAdmin)
admin.site.register(Tag, TagAdmin)
admin.site.register(OptOut, OptOutAdmin)
admin.site.register(OptOutEvent, OptOutEventAdmin)
admin.site.register(ImportJob, ImportJobAdmin)

__all__ = ["CampaignAdmin", "ImportJobAdmin", "OptOutAdmin", "OptOutEventAdmin", "TagAdmin"]
