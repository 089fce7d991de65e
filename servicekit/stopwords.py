"""Function words left out of lexical signals (lower case, ``ё`` folded to ``е``).

Russian: the NLTK/Snowball list plus frequent news function words (``также``, ``который``;
``сообщил`` is *not* here: reporting verbs carry meaning for keywords). English: the NLTK list.
Shared by the services that weigh words (retrieval's tokens and sparse vectors, the trend
service's story similarity), so both leave out the same words; apply them to normalised tokens,
see :func:`services.retrieval.domain.text.tokenize.normalize`.
"""

from __future__ import annotations

from typing import Final


def _words(listing: str) -> frozenset[str]:
    return frozenset(w.replace("ё", "е") for w in listing.split())


RU: Final[frozenset[str]] = _words(
    """
    а без более бы был была были было быть в вам вас весь во вот все всего всех всю вы где да
    даже для до его ее ей ему если есть еще же за здесь и из или им их к как ко когда кто ли
    либо мне может мы на над надо наш не него нее нет ни них но ну о об однако он она они оно
    от очень по под при с со так также такой там те тем то того тоже той только том ты у уже
    хотя чего чей чем что чтобы чье чья эта эти это я ей ею им ими их мой моя мое мои твой
    твоя твое твои свой своя свое свои своих своим своей своего своему наша наше наши нашей
    нашего вашего ваш ваша ваше ваши себя себе собой сам сама само сами самих самого самой
    этот этого этой этому этим этом этих эту тот та тех тому тот тут теперь потом после перед
    между через около вокруг против вместо кроме среди пока раз разве нибудь чуть куда
    зачем почему сейчас всегда иногда никогда тогда где-то что-то кто-то какой какая какое
    какие каких каким которое который которая которые которых которым которой которого
    котором которую всей всем всеми всему всё опять уж ведь вдруг будто бывает будет будут
    буду будем будешь будете был нем ним ней нему нею них ними чем чему чём лишь
    именно поэтому потому причем причём впрочем зато например кстати вообще сколько
    несколько много мало более менее весьма почти совсем вновь снова еще ещё ли же бы
    такое такая такие таких таким такими кем кого кому чему каков какова каково каковы
    какого какому какую какой каком чьи чьей чьего являлся являлась являлось являлись является
    являются
    """
)

EN: Final[frozenset[str]] = _words(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were
    weren't what what's when when's where where's which while who who's whom why why's with
    won't would wouldn't you you'd you'll you're you've your yours yourself yourselves also
    just may might must shall will us s t d ll m re ve
    """
)

BY_LANGUAGE: Final[dict[str, frozenset[str]]] = {"ru": RU, "en": EN}
ALL: Final[frozenset[str]] = RU | EN
"""Both lists: a token's script tells its language, so one set serves mixed-language text."""
