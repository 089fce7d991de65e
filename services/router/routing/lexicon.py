"""Cue patterns of the heuristic stage, per route, Russian and English.

Every pattern is searched in one haystack: the lemma text, ``" | "``, then the surface
text (normalised tokens), so a pattern may name a lemma (``дайджест`` matches
``дайджеста``, ``дайджесты``) or a fixed surface phrase (``больше всего``); the bar keeps a
pattern from spanning both halves. English words are written with their endings as regular
expressions (``trend\\w*``). ``мне`` and ``тебя`` lemmatise to ``я`` and ``ты``.
"""

from __future__ import annotations

import re
from typing import Final


def _words(listing: str) -> frozenset[str]:
    return frozenset(listing.split())


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


_GAP: Final = r"(?:[\w]+ ){0,2}"
"""Up to two words between the parts of a cue ("my trends request", "мой последний запрос")."""

# --- memory: the user's own earlier requests, runs and answers -----------------------------
_ARTEFACT: Final = (
    r"(?:дайджест|запрос|вопрос|отчет|ответ|анализ|история|статус|результат"
    r"|digests?|requests?|quer(?:y|ies)|reports?|answers?|analysis|history|status|runs?"
    r"|questions?|results?)"
)
MEMORY: Final = _any(
    rf"(?:мой|твой|my|your) {_GAP}{_ARTEFACT}",
    r"(?:я|i) (?:\w+ )?(?:спрашивать|спросить|просить|попросить|заказать|заказывать"
    r"|запрашивать|запросить|asked|ask|ordered|order|requested|request)",
    r"(?:ты|вы) (?:\w+ ){0,2}(?:присылал|прислал|отправлял|отправил|отвечал|ответил|давал|дал"
    r"|рассказывал|рассказал|показывал|показал|писал|написал)\w*",
    r"you (?:\w+ ){0,2}(?:sent|told|answered|gave|given|showed|shown)"
    r"|did you (?:\w+ )?(?:send|tell|answer|give|show)",
    rf"{_ARTEFACT} (?:который |that |which )?(?:ты|you|я|i) ",
    r"прошлый раз|last time",
    rf"{_ARTEFACT} (?:\w+ )?я (?:сделать|делать|задать|задавать|отправить|отправлять)",
)

# --- unsupported: off-topic requests the product does not serve -----------------------------
_MAKE: Final = (
    r"(?:написать|сочинить|придумать|сгенерировать|нарисовать|составить|исправить|отладить"
    r"|write|compose|generate|draw|create|fix|debug|refactor|make up|come up with)"
)
_OFF_OBJECT: Final = (
    r"(?:стих\w*|песня|рассказ|сказка|эссе|сочинение|письмо|тост|поздравление|код|программа"
    r"|функция|скрипт|бот|картинка|изображение|рисунок|меню|презентация"
    r"|poems?|songs?|story|stories|essays?|letters?|toast|code|programs?|functions?|scripts?"
    r"|bots?|images?|pictures?|drawings?|emails?|presentations?|fairy|lyrics|cv|resume"
    r"|название|слоган|логотип|names?|slogans?|logos?|taglines?|пост|posts?|tweets?"
    r"|python|javascript|java|sql|bash|regex|html|css"
    r"|резюме(?! (?:\w+ )?(?:новость|канал|событие)))"
)
UNSUPPORTED: Final = _any(
    rf"{_MAKE} (?:\w+ ){{0,4}}{_OFF_OBJECT}",
    r"погода|weather|will it (?:rain|snow)|going to (?:rain|snow)|дождь|снегопад|температура"
    r"|temperature|быть ли (?:снег|дождь|гроза|мороз)",
    r"перевести|translate|translation",
    r"анекдот|шутка|jokes?|рецепт|recipes?|будильник|alarms?|таймер|timer",
    r"(?:как|how to|how do i) (?:\w+ )?(?:приготовить|сварить|испечь|cook|bake)",
    r"(?:заказать|забронировать|купить|вызвать|найти|подобрать|order|book|buy|call|find"
    r"|search) (?:\w+ ){0,2}(?:пицца|столик|билет|авиабилет|такси|еда|отель|гостиница"
    r"|pizza|table|tickets?|taxi|cab|food|flights?|hotels?)",
    r"тренировка|workout|диета|diet|fitness|фитнес|гороскоп|horoscope|калория|calories"
    r"|симптом|symptoms?|homework|домашний задание|remind me to|сыграть|play a game",
    r"конвертировать|convert|\d+ (?:\w+ )?(?:to|into|в) (?:euros?|dollars?|евро|доллар|рубль)",
    r"(?:включить|поставить|play) (?:\w+ )?(?:музыка|песня|плейлист|music|songs?|playlist)",
    r"(?:посоветовать|порекомендовать|recommend|suggest) (?:\w+ ){0,2}"
    r"(?:фильм|книга|сериал|movies?|films?|books?|series|shows?)",
    r"(?:какой|which|what) (?:\w+ )?(?:фильм|film|movie) (?:\w+ )?(?:посмотреть|watch)",
    r"(?:реши|решить|посчитать|вычислить|calculate|compute|solve) (?:\w+ ){0,2}(?:уравнение"
    r"|задача|пример|интеграл|equations?|problems?|integrals?|sum|\d)",
    r"уравнение|интеграл|equations?|integrals?|корень из|square root|логарифм|logarithm",
    r"сколько быть \d|\d+ (?:times|plus|minus|divided by|multiplied by) \d+",
    r"\d+ (?:умножить|разделить|плюс|минус|поделить) (?:на )?\d+",
    r"\d+ (?:процент|percent|%)? ?(?:от|of) \d+",
    r"(?:what|which) (?:\w+ )?(?:should|can) i (?:watch|read|cook|eat|buy)"
    r"|что (?:мне )?(?:посмотреть|почитать|приготовить|купить)",
)
MATH: Final = re.compile(r"\d\s*[-+*/×^=]\s*\d")
"""Arithmetic in the raw query ("2+2*2"): the lemma text has lost its symbols."""
NEWS_CONTEXT: Final = _any(
    r"писать|сообщать|новость|канал|news|channels?|report\w*|wrote|written|пишут|said|say"
)
"""Words that turn an off-topic word into a question about posts ("что пишут о погоде")."""

# --- help: greetings, thanks, what the bot can do and how to use it -----------------------
SMALL_TALK: Final = _words(
    """привет приветик здравствуйте здравствуй здрасте хай добрый день вечер утро ночь доброе
    спасибо благодарю большой большое около ок окей понять понятно ясно пока свидание до понял
    бот за помощь хэй хей эй йо приветствовать салют хелло дело как весь все отлично супер
    круто хорошо ладно ага спс мерси hi hiya howdy greetings hello hey there good day morning
    evening afternoon night thanks thank thx ty you ok okay bye goodbye cheers yo bot so much
    very all got it great cool nice awesome perfect what s up sup"""
)
HELP: Final = _any(
    r"(?:что|чем) (?:ты|вы) (?:\w+ )?(?:уметь|мочь|можешь|умеешь|помочь)",
    r"what (?:else )?can (?:you|i) (?:do|ask|help)|what do you do|what you do",
    r"what (?:kind|sort|type)s? of (?:questions|requests|things)",
    r"что (?:можно|я мочь|мочь) (?:\w+ ){0,3}(?:спросить|спрашивать|попросить)",
    r"(?:какой|which|what) (?:канал|channels) (?:ты|вы|you) (?:\w+ )?(?:читать|отслеживать"
    r"|follow|read|monitor|track)",
    r"какой (?:запрос|вопрос) (?:ты|вы) (?:понимать|принимать)",
    r"кто (?:ты|вы)$|(?:ты|вы) кто(?: такой)?$|кто (?:ты|вы) такой|who are you|what are you"
    r"|ты бот|are you a bot|what (?:kind of )?(?:bot|assistant) are you|что (?:ты|вы) за бот",
    r"(?:как|how) (?:ты|вы|you) (?:работать|work)|how does (?:this|it) work"
    r"|how (?:this|it) works|как (?:это|тут|здесь) (?:все |весь )?(?:работать|устроить|устроено)",
    r"как это работать|how \w+ (?:\w+ ){0,2}work here|(?:в|in|with) (?:этот|это|this) бот|this bot",
    r"как (?:\w+ )?(?:пользоваться|использовать)|how (?:do|can|should) i use|how to use",
    r"(?:как|how (?:do|can|should) i|how to) (?:\w+ )?(?:получить|получать|настроить"
    r"|настраивать|добавить|добавлять|заказать|заказывать|подписаться|подписываться"
    r"|посмотреть|смотреть|удалить|изменить|включить|get|add|order|subscribe|set up|setup"
    r"|configure|see|remove|change|enable|turn on) (?:\w+ ){0,2}(?:дайджест|канал|тренд"
    r"|подписка|уведомление|язык|настройка|источник|лента|digests?|channels?|trends?"
    r"|subscriptions?|sources?|feeds?"
    r"|notifications?|alerts?|language|settings)",
    r"(?:какой|which|what) (?:\w+ ){0,3}(?:команда|commands?)"
    r" (?:\w+ ){0,2}(?:ты|вы|бот|available|support|you)",
    r"(?:какой|which|what) (?:у ты |у вы )(?:\w+ )?команда",
    r"расскажи о себе|рассказать о себе|tell me about yourself|что ты такое",
    r"инструкция|instructions|getting started|начать работу|с чего начать|where do i start",
)
HELP_WORDS: Final = _any(r"помощь|справка|хелп|help|меню|menu")
"""Help words alone ("help", "помощь"): only in a short query ("help me write…" is not)."""

# --- trend: what is rising or most discussed -------------------------------------------------
_TOPIC: Final = r"(?:тема|тем|topics?|themes?)"
TREND_WORD: Final = _any(r"тренд\w*|трендить|trend\w*|тенденция|tendenc\w*")
"""The word itself: the request when alone, the subject in a question of fact."""
TREND: Final = _any(
    r"тренды|трендовый|трендить|trending|trends|в тренде|in trend",
    r"хайп\w*|hype\w*|вирусный|завируситься|viral|buzz\w*|blowing up|на пике",
    r"(?:набирать|набрать) (?:популярность|оборот)|gain\w* (?:popularity|traction)"
    r"|всплеск|spik\w*|surg\w*|на подъеме|в топе|топ обсуждение|выстрелить",
    r"(?:what s|whats|what is|что) (?:popular|hot|популярно)|стать популярный"
    r"|became popular|most attention|(?:getting|gets|got) (?:the most |a lot of )?attention",
    rf"(?:популярный|горячий|обсуждаемый|обсуждать|расти|растущий|новый|актуальный|топ|hot"
    rf"|popular|rising|emerging|top|discussed|new|growing) (?:\w+ )?{_TOPIC}",
    r"(?:самый )?обсуждаем\w*|most (?:discussed|talked about|mentioned)",
    r"(?:обсуждать|обсуждаться|говорить|писать|пишут|писали|говорят|обсуждают|обсуждали"
    r"|talking about|discussing|writing about)"
    r" (?:\w+ ){0,2}(?:больше всего|чаще всего|активнее всего|the most)",
    r"(?:больше всего|чаще всего|активнее всего) (?:\w+ ){0,2}(?:пишут|говорят|обсуждают"
    r"|обсуждали|обсуждались|писали)",
    r"(?:о|про) (?:чем|что) (?:сейчас |все |весь |больше всего |чаще всего ){1,2}"
    r"(?:\w+ )?(?:говорить|писать|обсуждать)",
    r"(?:what|which) (?:are |is )?(?:people|everyone|channels) (?:\w+ )?(?:talking|writing)"
    r" about (?:now|today|right now|this|these)",
    r"(?:главный|основной|main|key|top) (?:\w+ )?(?:тема|тем|topics?|themes?)",
    r"что сейчас (?:актуально|актуальный|горячий|популярно)|пойти вверх|взлететь"
    r"|рост упоминание|mentions (?:rose|grew|spiked)|talk of the town",
    r"everyone (?:is |s )?(?:talking|writing|discussing)|everyone s mind",
    r"(?:обсуждать|обсуждаться) (?:\w+ )?(?:сейчас|в канал|активный|активно)",
    r"сейчас обсуждать",
    rf"{_TOPIC} (?:\w+ ){{0,2}}(?:вырасти|расти|появиться|всплыть|spiked|rose|rising|growing"
    r"|went viral|набирать)",
    r"what s hot|whats hot|what is hot|more than usual|чаще обычного|больше обычного",
    r"(?:stories|news) (?:\w+ )?(?:are )?blowing",
)

# --- digest: a summary of a period ------------------------------------------------------------
DIGEST: Final = _any(
    r"дайджест\w*|digests?|сводка|сводочка|выжимка|саммари|summary|summaries|recap\w*"
    r"|round ?up|headlines|highlights|briefing|brief me|tl dr|tldr",
    r"итог|подвести итог|коротко о главн\w*",
    r"summari[sz]e|summari[sz]ing|резюмировать|пересказать",
    r"обзор (?:\w+ ){0,2}(?:новость|событие|день|неделя|канал)|overview of|подборка"
    r"|sum (?:it )?up|подытожить|up to speed|быть в курс|ввести в курс|the gist|gist of",
    r"(?:главный|главное|основной|важный|ключевой|top|main|key|biggest|important) (?:\w+ )?"
    r"(?:новость|событие|news|headlines|events?|stories|story)",
    r"(?:что|what) (?:быть |s |is |were |was )?(?:главн\w*|важный|важное|интересный"
    r"|интересное|important|main|interesting)",
    r"(?:рассказать|дать|собрать|показать|расскажи|собери|покажи) (?:\w+ )?главн\w*",
    r"главн\w* (?:из|за)",
    r"(?:я )?пропустить|what did i miss|i missed|catch me up|catch up on",
    r"резюме (?:\w+ )?(?:новость|событие|канал)",
)
WHATS_NEW: Final = re.compile(
    r"^(?:и |а |so |ну )?(?:что новый|what s new|whats new|what is new|последний новость"
    r"|latest news|the news|новость|news)(?: в мир| in the world)?$"
)
"""A bare "что нового?", "what's new?", "новости" (the time phrase taken out) asks for a
digest; with an entity ("что нового у Яндекса?") it asks a question."""
WHAT_HAPPENED: Final = re.compile(
    r"^(?:и |а |so |ну )?(?:что|what) (?:быть|произойти|случиться|happened|was there"
    r"|went on)(?: в мир| in the world)?$"
)
"""A bare "что было вчера?" / "what happened this week?" — only with a time phrase."""
BRIEFLY: Final = _any(r"кратко|коротко|briefly|in short|в двух словах")

# --- qa: a question of fact, or a request to find posts --------------------------------------
REPORTED: Final = _any(
    r"сказать|говорить|заявить|ответить|said|say|says|told|comment\w*|claim\w*",
    r"почему|зачем|когда|кто|где|why|when|who|where",
    r"объяснить|explain|что значить|what does",
    r"аналитик|эксперт|analysts?|experts?|мнение|opinion|вывод|conclusions?",
    r"^(?:is|are|was|were|does|did|has|have|will) |ли",
)
"""Reported speech or a question of fact: "тренд"/"summarize" inside such a query is its
subject, not the request ("Почему тренд на удалёнку сошёл на нет?")."""
WHY: Final = _any(r"почему|зачем|why")
"""Even an outright trend phrase is a question's subject after "why" ("Why is everyone
talking about Durov?")."""
QA: Final = _any(
    r"^(?:кто|почему|зачем|когда|где|сколько|насколько|who|why|when|where|how much|how many)",
    r"правда ли|is it true|это правда",
    r"(?:что|what) (?:\w+ ){0,3}(?:сказать|говорить|заявить|ответить|известно|писать|пишут"
    r"|сообщать|случиться|произойти|происходить|say|said|known|wrote|write|report\w*"
    r"|happen\w*|going on)",
    r"(?:рассказать|расскажи|tell me) (?:\w+ )?(?:про|о|об|about)",
    r"объяснить|объясни|explain|найти|найди|find|show me what|покажи что|compare|сравнить",
    r"какой (?:курс|уровень|прогноз|цена)|what is the (?:current )?\w+ rate",
    r"(?:есть|any) (?:ли )?(?:новость|news) (?:про|о|об|по|about|on)",
)

# --- follow-ups: a turn that only makes sense after the previous one -------------------------
FOLLOWUP_FILLER: Final = _words(
    """а и ну еще что нибыть нибудь подробный подробно подробность давать рассказать продолжать
    далекий дальше далее быть до это этот так ладно хорошо около ок окей тогда потом за с на в
    про там можно мочь я пожалуйста плиз and what else more tell me go on anything details
    detail please same happened happen
    for the ok okay so then about how continue keep going further elaborate also any other
    that this"""
)
FOLLOWUP_MARKER: Final = _words(
    """еще подробный подробно подробность продолжать далекий дальше далее до else more continue
    go details detail elaborate further same anything keep"""
)
CONNECTIVE: Final = _words("""а и ну and so ok okay около ок окей same what how""")
