-- Domains are data (issue 29): the rule packs declare them (rules::domain_catalog, GET
-- /api/v1/domains) and the server checks a site's domain against the catalog in force. Adding a
-- domain is adding a pack and reloading, so the database no longer lists them.
ALTER TABLE sites DROP CONSTRAINT IF EXISTS sites_domain_check;
