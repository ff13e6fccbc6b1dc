from django.contrib import admin

from .models import LivePosition


@admin.register(LivePosition)
class LivePositionAdmin(admin.ModelAdmin):
    list_display = ("stream", "source", "aggregate", "last_sequence")
    list_filter = ("source",)
    search_fields = ("stream", "aggregate")
