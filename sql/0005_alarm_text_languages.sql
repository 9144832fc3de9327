-- Title and advice in each language on their own, so every client shows the language its
-- operator chose: Chinese stays in title/advice, English goes to title_en/advice_en.
ALTER TABLE alarms ADD COLUMN title_en text NOT NULL DEFAULT '';
ALTER TABLE alarms ADD COLUMN advice_en text NOT NULL DEFAULT '';
-- Alarms written before held "中文 / English" in one string.
UPDATE alarms SET title_en = split_part(title, ' / ', 2), title = split_part(title, ' / ', 1)
    WHERE position(' / ' IN title) > 0;
UPDATE alarms SET advice_en = split_part(advice, ' / ', 2), advice = split_part(advice, ' / ', 1)
    WHERE position(' / ' IN advice) > 0;
