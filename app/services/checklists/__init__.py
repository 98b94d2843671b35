"""Checklists: the pure generator, stored checklists and their regeneration, items, waivers,
documents and previews."""
