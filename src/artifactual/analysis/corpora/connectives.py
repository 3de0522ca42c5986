"""The connective lexicon behind the discourse graphs: English explicit connectives mapped to the
four PDTB-3 top-level senses (written for artifactual), plus the word classes the parse-based
disambiguation in :mod:`artifactual.analysis.corpora.discourse` uses."""

from __future__ import annotations

__all__ = ["SENSES", "EDGE_LABELS", "CONNECTIVES"]

SENSES = ("Temporal", "Contingency", "Comparison", "Expansion")
EDGE_LABELS = (*SENSES, "Entity", "Continuation")

T, C, P, E = SENSES
#: Explicit connectives -> PDTB-3 top-level sense; ``"?"`` = resolved from the parse.
CONNECTIVES: dict[str, str] = {
    # Temporal
    "after": T, "afterwards": T, "afterward": T, "before": T, "until": T, "till": T,
    "meanwhile": T, "later": T, "subsequently": T, "previously": T, "earlier": T,
    "eventually": T, "finally": T, "thereafter": T, "whenever": T, "as soon as": T,
    "by the time": T, "in the meantime": T, "at the same time": T, "ever since": T,
    "and then": T, "soon after": T, "shortly after": T, "until then": T, "next": T,
    # Contingency
    "because": C, "therefore": C, "thus": C, "hence": C, "consequently": C,
    "accordingly": C, "as a result": C, "as a consequence": C, "so that": C, "if": C,
    "unless": C, "otherwise": C, "in order to": C, "in order that": C, "so as to": C,
    "provided that": C, "providing that": C, "as long as": C, "so long as": C,
    "in case": C, "given that": C, "now that": C, "for this reason": C,
    "that is why": C, "this is why": C, "because of this": C, "in that case": C,
    "if so": C, "only if": C, "even so": P,
    # Comparison
    "but": P, "however": P, "although": P, "though": P, "even though": P, "yet": P,
    "whereas": P, "nevertheless": P, "nonetheless": P, "on the other hand": P,
    "in contrast": P, "by contrast": P, "conversely": P, "still": P, "even if": P,
    "on the contrary": P, "similarly": P, "likewise": P, "all the same": P,
    "regardless": P, "as if": P, "as though": P, "in comparison": P,
    # Expansion
    "and": E, "also": E, "moreover": E, "furthermore": E, "additionally": E,
    "in addition": E, "for example": E, "for instance": E, "in fact": E, "indeed": E,
    "in other words": E, "that is": E, "specifically": E, "in particular": E, "or": E,
    "nor": E, "alternatively": E, "instead": E, "rather": E, "besides": E,
    "what is more": E, "in summary": E, "in conclusion": E, "overall": E,
    "in short": E, "to summarize": E, "first": E, "firstly": E, "second": E,
    "secondly": E, "third": E, "thirdly": E, "lastly": E, "but also": E,
    "except": E, "namely": E, "in general": E, "more specifically": E,
    # ambiguous: resolved from the parse
    "since": "?", "while": "?", "as": "?", "when": "?", "then": "?", "so": "?",
    "once": "?",
}
_MAX_WORDS = max(len(k.split()) for k in CONNECTIVES)
#: Connectives that count only at the start of a sentence or after ";" (else too noisy).
_INITIAL_ONLY = {"still", "next", "first", "second", "third", "rather", "overall",
                 "in general", "finally", "later", "earlier", "yet", "except", "that is"}
_SUBORDINATORS = {"after", "before", "until", "till", "whenever", "as soon as", "by the time",
                  "ever since", "because", "so that", "if", "unless", "in order to",
                  "in order that", "so as to", "provided that", "providing that",
                  "as long as", "so long as", "in case", "given that", "now that", "although",
                  "though", "even though", "whereas", "even if", "as if", "as though",
                  "only if", "since", "while", "as", "when", "once"}
_COORDINATORS = {"and", "but", "or", "nor", "yet", "so", "and then", "but also"}
_STATIVE = {"be", "have", "know", "seem", "want", "need", "believe", "own", "like",
            "understand", "belong", "remain", "lack", "contain", "matter", "mean"}
_MODALS = {"will", "would", "can", "could", "should", "must", "may", "might", "shall"}
_PRONOUNS_3P = {"he", "she", "it", "they", "him", "her", "them", "his", "its", "their",
                "hers", "theirs", "himself", "herself", "itself", "themselves"}
