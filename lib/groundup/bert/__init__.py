"""BERT (Chapter 9): the bidirectional encoder, its WordPiece tokenizer, real weights
(all-MiniLM-L6-v2), sentence embeddings by mean pooling, and a small MLM pretraining run.

    model.py      BertConfig, embeddings, post-norm blocks, Bert with its MLM head
    wordpiece.py  the basic tokenizer and WordPiece, equal to BertTokenizerFast
    loading.py    Hugging Face checkpoints; load_minilm()
    embed.py      mean pooling and embed(texts)
    mlm.py        BERT's 80/10/10 masking and the course's MLM pretraining run

>>> from groundup.bert import Bert, BertConfig, WordPiece, load_minilm, embed
"""
from groundup.bert.embed import embed, mean_pool, mean_pool_naive
from groundup.bert.loading import load_hf_bert, load_minilm, minilm_dir
from groundup.bert.model import Bert, BertBlock, BertConfig, BertEmbeddings, gelu_erf_naive
from groundup.bert.wordpiece import WordPiece, wordpiece_naive

__all__ = [
    "Bert", "BertConfig", "BertBlock", "BertEmbeddings", "gelu_erf_naive",
    "WordPiece", "wordpiece_naive",
    "load_hf_bert", "load_minilm", "minilm_dir",
    "embed", "mean_pool", "mean_pool_naive",
]
