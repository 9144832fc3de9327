-- Routing by sector (issue 29, docs/notifications.md): a contact may be limited to domains (NULL:
-- all), and a sector desk (the gas department's duty desk for gas alarms) is a tier between the
-- district and the city. A sector desk names its domains, and may name a district (a district's
-- sector office).
ALTER TABLE contacts ADD COLUMN domains text[];
ALTER TABLE contacts DROP CONSTRAINT IF EXISTS contacts_tier_check;
ALTER TABLE contacts DROP CONSTRAINT IF EXISTS contacts_check1;
ALTER TABLE contacts ADD CONSTRAINT contacts_tier_check CHECK (tier IN ('enterprise', 'district', 'sector', 'city'));
ALTER TABLE contacts ADD CONSTRAINT contacts_district_check
    CHECK ((tier <> 'district' OR district IS NOT NULL) AND (tier IN ('district', 'sector') OR district IS NULL));
ALTER TABLE contacts ADD CONSTRAINT contacts_sector_domains_check
    CHECK (tier <> 'sector' OR cardinality(domains) > 0);
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_tier_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_tier_check
    CHECK (tier IN ('enterprise', 'district', 'sector', 'city'));
