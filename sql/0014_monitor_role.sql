-- A key that may read /metrics and nothing else (a Prometheus server's credentials).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('gateway', 'operator', 'admin', 'monitor'));
