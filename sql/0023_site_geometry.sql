-- Site geometry (issue 29, docs/api.md): a pipe segment, a tunnel or a bridge deck is a line or
-- an area, not a point. GeoJSON LineString or Polygon in WGS-84 longitude/latitude (NULL: the
-- site is its point, lat/lon). The map draws it; lat/lon stay the marker and the nearest-resource
-- origin.
ALTER TABLE sites ADD COLUMN geometry jsonb;
